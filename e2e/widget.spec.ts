import AxeBuilder from '@axe-core/playwright'
import { createHash } from 'node:crypto'
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RelayProcess, freePort } from '../test/helpers/relay-process.ts'
import { expect, submitPublishForm, test } from './fixtures.ts'
import type { Page } from '@playwright/test'
import type { Server } from 'node:http'

/**
 * The widget as another site uses it: the demo page (public/demo/index.html)
 * served from a different origin (its own port), loading the widget with one
 * script tag from the relay, which lists that origin in EMBED_ORIGINS.
 */
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

let relay: RelayProcess
let host: Server
let hostUrl: string
let dataDir: string

test.beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mp-e2e-widget-'))
  const hostPort = await freePort()
  hostUrl = `http://127.0.0.1:${hostPort}`
  relay = new RelayProcess(dataDir, await freePort(), await freePort(), { EMBED_ORIGINS: hostUrl })
  await relay.start()
  const demo = await readFile('public/demo/index.html', 'utf8')
  const script = `${relay.url}/widget/p2p-marketplace.js`
  const tag = (src: string): string => `<script type="module" src="${src}"></script>`
  const pages: Record<string, string> = {
    '/': demo.replace(tag('../widget/p2p-marketplace.js'), tag(script)),
    // the same page before any widget script ran: the host's own styles, untouched
    '/no-widget': demo.replace(tag('../widget/p2p-marketplace.js'), ''),
    // the widget pinned to its version, with its SRI hash (filled in below)
    '/pinned': '',
    // the script twice, and a second copy of it (another URL: another module instance)
    '/twice': demo.replace(
      tag('../widget/p2p-marketplace.js'),
      tag(script) + tag(script) + tag(`${script}?copy=2`)
    )
  }
  const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string }
  const integrity = (
    (await (await fetch(`${relay.url}/widget/${version}/integrity.json`)).json()) as Record<string, string>
  )['p2p-marketplace.js']
  pages['/pinned'] = demo.replace(
    tag('../widget/p2p-marketplace.js'),
    `<script type="module" src="${relay.url}/widget/${version}/p2p-marketplace.js" integrity="${integrity}" crossorigin="anonymous"></script>`
  )
  host = createServer((req, res) => {
    const page = pages[new URL(req.url ?? '/', hostUrl).pathname]
    if (page == null) return res.writeHead(404).end()
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page)
  })
  await new Promise<void>(resolve => host.listen(hostPort, '127.0.0.1', resolve))
})

test.afterAll(async () => {
  await new Promise(resolve => host?.close(resolve))
  await relay?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

/** Opens a host page in a fresh context, failing the test on any uncaught page error. */
async function openHost(browser: import('@playwright/test').Browser, path = '/'): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', err => {
    throw new Error(`page error on the host page: ${err.message}`)
  })
  await page.goto(`${hostUrl}${path}`)
  return page
}

/** The app on the relay's own origin, in a fresh context, once its node is online. */
async function openApp(browser: import('@playwright/test').Browser): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  await page.goto(relay.url)
  await page.waitForFunction(() => window.p2pMarketplace?.status().state === 'online')
  return page
}

const online = async (page: Page, id: string): Promise<void> => {
  await expect(page.locator(`#${id}`).getByRole('status').first()).toContainText('Online', {
    timeout: 30_000
  })
}

test('another site embeds the widget with one script tag: online, search, results, events, tracing', async ({
  browser
}) => {
  // a package published by a person in the app, on the relay's own origin
  const publisher = await openApp(browser)
  const publisherContext = publisher.context()
  await publisher.evaluate(
    async () =>
      await window.p2pMarketplace!.publish({
        id: 'acme/left-pad',
        version: '1.0.0',
        title: 'Left pad',
        description: 'Pads strings on the left',
        license: 'MIT',
        tags: ['string', 'pad']
      })
  )

  const page = await openHost(browser)
  // the widgets render at once, before libp2p has loaded
  await expect(page.locator('#side-widget').getByRole('heading', { name: 'Padding packages' })).toBeVisible()
  await online(page, 'main-widget')
  await online(page, 'side-widget')

  // the side widget searched for its `query` attribute once online
  const side = page.locator('#side-widget')
  const result = side.getByRole('article', { name: 'Left pad' })
  await expect(result).toBeVisible({ timeout: 15_000 })
  await expect(result).toContainText('signed by')

  // two widgets, one node; `marketplace` is the contract's API, and the host's globals are left alone
  const shared = await page.evaluate(() => {
    const [a, b] = ['main-widget', 'side-widget'].map(
      id =>
        document.getElementById(id) as HTMLElement & {
          marketplace?: { peerId: string; status(): { state: string } }
        }
    )
    return {
      same: a?.marketplace != null && a.marketplace === b?.marketplace,
      peerId: a?.marketplace?.peerId,
      state: a?.marketplace?.status().state,
      global: 'p2pMarketplace' in window
    }
  })
  expect(shared).toMatchObject({ same: true, state: 'online', global: false })

  // a person opens a package: the host page hears it (composed, bubbling events)
  await result.getByRole('button', { name: 'Details of acme/left-pad' }).click()
  await expect(side.getByRole('region', { name: 'Package details' })).toContainText(
    'Pads strings on the left'
  )
  const events = page.getByRole('list', { name: 'Widget events' })
  await expect(events).toContainText('mp-select from #side-widget: {"id":"acme/left-pad","version":"1.0.0"}')
  await expect(events).toContainText('mp-ready from #main-widget')

  // publishing from the main widget's form
  const main = page.locator('#main-widget')
  await submitPublishForm(main, {
    id: 'shop/right-pad',
    version: '2.0.0',
    title: 'Right pad',
    description: 'Pads strings on the right',
    license: 'MIT'
  })
  await expect(main.getByTestId('publish-result')).toContainText('Published shop/right-pad@2.0.0')
  await expect(events).toContainText('mp-published from #main-widget')
  await expect(main.getByRole('link', { name: 'View its trace' })).toHaveAttribute(
    'href',
    new RegExp(`^${relay.url}/#trace=[0-9a-f]{32}$`)
  )
  // …and the person in the app finds it
  await expect
    .poll(
      async () =>
        await publisher.evaluate(
          async () => (await window.p2pMarketplace!.getPackage('shop/right-pad'))?.title
        ),
      {
        timeout: 15_000
      }
    )
    .toBe('Right pad')

  // tracing works as in the app: the widget's spans reach the relay's collector from the other origin
  await expect
    .poll(
      async () => {
        const res = await fetch(`${relay.url}/api/traces?name=publish&attr.package_id=shop/right-pad`)
        const { traces } = (await res.json()) as { traces: Array<{ peers: string[] }> }
        return traces.flatMap(t => t.peers)
      },
      { timeout: 20_000 }
    )
    .toContain(shared.peerId)
  await publisherContext.close()
  await page.context().close()
})

test("the host's CSS does not reach into the widget, and the widget's CSS does not leak out", async ({
  browser
}) => {
  const hostStyles = async (page: Page): Promise<unknown> =>
    await page.evaluate(() => {
      const pick = (el: Element | null): Record<string, string> => {
        const s = getComputedStyle(el!)
        return {
          color: s.color,
          font: s.fontFamily,
          size: s.fontSize,
          transform: s.textTransform,
          bg: s.backgroundColor
        }
      }
      return {
        h2: pick(document.querySelector('#catalog-title')),
        body: pick(document.body),
        p: pick(document.querySelector('main p'))
      }
    })
  const bare = await openHost(browser, '/no-widget')
  const before = await hostStyles(bare)
  await bare.context().close()

  const page = await openHost(browser)
  await online(page, 'main-widget')
  expect(await hostStyles(page)).toEqual(before)

  const inside = await page.evaluate(() => {
    const widget = document.getElementById('main-widget')!
    const search = widget.shadowRoot!.querySelector('mp-search')!
    const button = search.shadowRoot!.querySelector('button[type="submit"]')!
    const h2 = search.shadowRoot!.querySelector('h2')!
    const style = (el: Element): CSSStyleDeclaration => getComputedStyle(el)
    return {
      buttonBg: style(button).backgroundColor,
      buttonBorder: style(button).borderStyle,
      buttonFont: style(button).fontFamily,
      h2Color: style(h2).color,
      h2Transform: style(h2).textTransform,
      heading: style(widget.shadowRoot!.querySelector('h2')!).color,
      widgetFont: style(widget.shadowRoot!.querySelector('.widget')!).fontFamily
    }
  })
  // not the host's hotpink dashed buttons, uppercase pink headings or Georgia…
  expect(inside.buttonBorder).not.toBe('dashed')
  expect(inside.h2Color).not.toBe('rgb(176, 48, 106)')
  expect(inside.h2Transform).toBe('none')
  expect(inside.widgetFont).not.toContain('Georgia')
  expect(inside.buttonFont).not.toContain('Georgia')
  // …but the theme the host chose on purpose, through ::part()
  expect(inside.buttonBg).toBe('rgb(239, 230, 248)')
  expect(inside.heading).toBe('rgb(90, 45, 130)')

  // keyboard-usable and labelled inside the host's page too
  const audit = await new AxeBuilder({ page }).include('p2p-marketplace').analyze()
  expect(
    audit.violations
      .filter(v => v.impact === 'serious' || v.impact === 'critical')
      .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)
  ).toEqual([])
  await page.context().close()
})

test('a site pins the widget to its version with its SRI hash: it loads and goes online', async ({
  browser
}) => {
  const page = await openHost(browser, '/pinned')
  await online(page, 'main-widget')
  await page.context().close()
})

test('loading the script twice, and a second copy of it, is harmless', async ({ browser }) => {
  const health = (await (await fetch(`${relay.url}/healthz`)).json()) as { packages: number }
  expect(health.packages).toBeGreaterThanOrEqual(2)
  const page = await openHost(browser, '/twice')
  await online(page, 'main-widget')
  await online(page, 'side-widget')
  const nodes = await page.evaluate(() => {
    const ids = ['main-widget', 'side-widget'].map(
      id =>
        (document.getElementById(id) as HTMLElement & { marketplace?: { peerId: string } }).marketplace
          ?.peerId
    )
    return new Set(ids).size
  })
  expect(nodes).toBe(1)
  await expect(page.locator('#side-widget').getByRole('article', { name: 'Left pad' })).toBeVisible({
    timeout: 15_000
  })
  await page.context().close()
})

test("a person on the host page downloads a package's file through the widget: verified, byte for byte", async ({
  browser
}) => {
  // a person in the app publishes a file (2 MiB of random bytes) with a package
  const publisher = await openApp(browser)
  const publisherContext = publisher.context()
  const published = await publisher.evaluate(async () => {
    const node = window.p2pMarketplace!
    const bytes = new Uint8Array(2 * 1024 * 1024)
    for (let at = 0; at < bytes.length; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536))
    const id = `${node.keyNamespace}/widget-file`
    await node.publish(
      { id, version: '1.0.0', title: 'Widget file', description: 'A file for the widget', license: 'MIT' },
      { content: new File([bytes], 'widget-file-1.0.0.bin', { type: 'application/octet-stream' }) }
    )
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
    return { id, sha256: [...digest].map(b => b.toString(16).padStart(2, '0')).join('') }
  })

  const page = await openHost(browser)
  await online(page, 'main-widget')
  const main = page.locator('#main-widget')
  await main.getByLabel('Search text').fill('widget file')
  await main.getByRole('button', { name: 'Search', exact: true }).click()
  const article = main.getByRole('article', { name: 'Widget file' })
  await expect(article).toBeVisible({ timeout: 20_000 })
  await article.getByRole('button', { name: `Details of ${published.id}` }).click()
  const details = main.getByRole('region', { name: 'Package details' })
  const saved = page.waitForEvent('download', { timeout: 60_000 })
  await details.getByRole('button', { name: 'Download widget-file-1.0.0.bin (2.0 MiB)' }).click()
  const download = await saved
  expect(download.suggestedFilename()).toBe('widget-file-1.0.0.bin')
  expect(sha256(await readFile(await download.path()))).toBe(published.sha256)
  await expect(details.getByTestId('download-result')).toContainText('✓ Verified')
  await publisherContext.close()
  await page.context().close()
})
