/**
 * `npm run screenshots`: takes the README's pictures from the real app: a relay,
 * three tabs, a published package, a search from another tab, the publish trace
 * opened in the trace panel, the network picture and the network-health view,
 * the app in dark mode and on a phone, and the demo shop page embedding the
 * widget. Writes docs/screenshots/*.png.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { CHROMIUM_LAUNCH } from '../test/helpers/chromium.ts'
import { RelayProcess, freePort } from '../test/helpers/relay-process.ts'

const out = join('docs', 'screenshots')
await mkdir(out, { recursive: true })
const { build } = await import('vite')
await build({ logLevel: 'warn' })

const dataDir = await mkdtemp(join(tmpdir(), 'mp-screenshots-'))
const relay = new RelayProcess(dataDir, await freePort(), await freePort())
await relay.start()
const browser = await chromium.launch(CHROMIUM_LAUNCH)
try {
  const tabs = await Promise.all(
    [0, 1, 2].map(async () => {
      const context = await browser.newContext({
        viewport: { width: 1200, height: 900 },
        deviceScaleFactor: 1
      })
      const page = await context.newPage()
      await page.goto(relay.url)
      return page
    })
  )
  const [publisher, searcher, third] = tabs as [(typeof tabs)[0], (typeof tabs)[0], (typeof tabs)[0]]
  for (const tab of tabs)
    await tab.waitForFunction(() => window.p2pMarketplace?.status().directPeers === 2, undefined, {
      timeout: 60_000
    })
  await publisher.evaluate(
    async () =>
      await window.p2pMarketplace!.publish({
        id: 'acme/left-pad',
        version: '1.2.0',
        title: 'Left pad',
        description: 'Pads strings on the left, signed and shared peer to peer.',
        license: 'MIT',
        categories: ['text'],
        tags: ['string', 'padding']
      })
  )
  await searcher.waitForFunction(
    () => window.p2pMarketplace?.catalog.get('acme/left-pad') != null,
    undefined,
    { timeout: 15_000 }
  )
  await searcher.getByLabel('Search text').fill('left pad')
  await searcher.getByRole('button', { name: 'Search', exact: true }).click()
  await searcher.getByRole('article', { name: 'Left pad' }).waitFor()
  await searcher.screenshot({ path: join(out, 'app.png'), fullPage: false })

  // a search's trace: the peers' answers nested under the searcher's queries, a colour per peer
  const search = await searcher.evaluate(async () => await window.p2pMarketplace!.search({ text: 'strings' }))
  await searcher.evaluate(id => (location.hash = `trace=${id}`), search.traceId)
  const traces = searcher.locator('mp-traces')
  await traces.getByRole('button', { name: 'Span search', exact: true }).click({ timeout: 15_000 })
  await traces.getByRole('region', { name: 'Span details' }).waitFor()
  await traces.getByRole('list', { name: 'Peers in this trace' }).locator('li[data-peer]').nth(1).waitFor()
  await traces.screenshot({ path: join(out, 'trace-panel.png') })

  // the picture of the network, a peer chosen (each tab has asked the others something by now)
  await third.evaluate(async () => await window.p2pMarketplace!.search({ text: 'pad' }))
  const graph = third.locator('mp-network-graph')
  await graph
    .getByRole('button', { name: /^Peer .*direct WebRTC/ })
    .first()
    .click()
  await graph.screenshot({ path: join(out, 'network-graph.png') })

  // the network-health view once the searcher's spans have arrived and the charts have drawn
  const health = searcher.locator('mp-health')
  await health.locator('[data-figure="search"]').filter({ hasText: 'p50' }).waitFor({ timeout: 15_000 })
  // a chart draws once it is on screen
  await health.scrollIntoViewIfNeeded()
  await health.locator('canvas').first().waitFor()
  await health.screenshot({ path: join(out, 'network-health.png') })

  // the searcher in dark mode, and at a phone's width
  await searcher.emulateMedia({ colorScheme: 'dark' })
  await searcher.evaluate(() => scrollTo(0, 0))
  await searcher.screenshot({ path: join(out, 'app-dark.png'), fullPage: false })
  await searcher.emulateMedia({ colorScheme: 'light' })
  await searcher.setViewportSize({ width: 390, height: 844 })
  await searcher.evaluate(() => (location.hash = '#/search?q=left%20pad'))
  await searcher.getByRole('tab', { name: 'Search' }).click()
  await searcher.getByRole('article', { name: 'Left pad' }).waitFor()
  await searcher.screenshot({ path: join(out, 'app-phone.png'), fullPage: false })

  // the demo shop page embedding two widgets (one searching "pad" as soon as it is online)
  const shop = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage()
  await shop.goto(`${relay.url}/demo/`)
  await shop.locator('#side-widget').getByRole('article', { name: 'Left pad' }).waitFor({ timeout: 30_000 })
  await shop.screenshot({ path: join(out, 'widget-demo.png') })
  console.log(
    `screenshots: wrote app.png, app-dark.png, app-phone.png, trace-panel.png, network-graph.png, network-health.png and widget-demo.png to ${out}`
  )
} finally {
  await browser.close()
  await relay.stop()
  await rm(dataDir, { recursive: true, force: true })
}
