import AxeBuilder from '@axe-core/playwright'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RelayProcess, freePort } from '../test/helpers/relay-process.ts'
import { expect, test } from './fixtures.ts'
import type { Browser, Page } from '@playwright/test'
import type { Server } from 'node:http'

/**
 * The widget on another site's page, themed dark by that site: every colour follows the host's
 * custom properties, a package's page opens from an attribute, the widget moves between its views
 * without touching the host page's URL, and a failed operation is told to the host (`mp-error`).
 */

let relay: RelayProcess
let host: Server
let hostUrl: string
let dataDir: string

/** A dark shop: its own colours, and (`tokens`) the three base ones it gives the widget. */
const page = (widget: string, tokens = true): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dark shop</title>
<style>
  body { background: #111111; color: #eeeeee; font-family: Georgia, serif; }
  ${tokens ? 'p2p-marketplace { --mp-fg: #eeeeee; --mp-card-bg: #222222; --mp-accent: #7ea6ff; }' : ''}
</style></head>
<body><main><h1>Dark shop</h1>${widget}</main>
<script>
  window.widgetEvents = []
  for (const type of ['mp-error', 'mp-select']) {
    document.addEventListener(type, e => window.widgetEvents.push({ type, target: e.target.id, detail: e.detail }))
  }
</script>
<script type="module" src="__RELAY__/widget/p2p-marketplace.js"></script>
</body></html>`

test.beforeAll(async ({ browser }) => {
  dataDir = await mkdtemp(join(tmpdir(), 'mp-e2e-widget-pages-'))
  const hostPort = await freePort()
  hostUrl = `http://127.0.0.1:${hostPort}`
  relay = new RelayProcess(dataDir, await freePort(), await freePort(), { EMBED_ORIGINS: hostUrl })
  await relay.start()
  const pages: Record<string, string> = {
    '/dark': page('<p2p-marketplace id="shop" mode="both" query="themed"></p2p-marketplace>'),
    '/package': page(
      '<p2p-marketplace id="shop" package="acme/themed@1.0.0" theme="dark"></p2p-marketplace>',
      false
    )
  }
  host = createServer((req, res) => {
    const body = pages[new URL(req.url ?? '/', hostUrl).pathname]
    if (body == null) return res.writeHead(404).end()
    res
      .writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      .end(body.replace('__RELAY__', relay.url))
  })
  await new Promise<void>(resolve => host.listen(hostPort, '127.0.0.1', resolve))

  // a person in the app publishes the package the shop shows
  const context = await browser.newContext()
  try {
    const app = await context.newPage()
    await app.goto(relay.url)
    await app.waitForFunction(() => window.p2pMarketplace?.status().state === 'online')
    await app.evaluate(
      async () =>
        await window.p2pMarketplace!.publish({
          id: 'acme/themed',
          version: '1.0.0',
          title: 'Themed',
          description: 'A package shown on a dark page',
          license: 'MIT',
          tags: ['theme'],
          homepage: 'https://acme.example/themed'
        })
    )
  } finally {
    await context.close()
  }
})

test.afterAll(async () => {
  await new Promise(resolve => host?.close(resolve))
  await relay?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

async function openShop(browser: Browser, path: string): Promise<Page> {
  const context = await browser.newContext()
  const shop = await context.newPage()
  shop.on('pageerror', err => {
    throw new Error(`page error on the host page: ${err.message}`)
  })
  await shop.goto(`${hostUrl}${path}`)
  await expect(shop.locator('#shop').getByRole('status').first()).toContainText('Online', { timeout: 30_000 })
  return shop
}

/** Every text and background colour inside the widget's shadow trees, as [r, g, b] (0-255). */
async function widgetColours(shop: Page): Promise<Array<{ what: string; rgb: number[] }>> {
  return await shop.evaluate(() => {
    const probe = document.createElement('canvas').getContext('2d')!
    // the canvas turns any CSS colour (rgb(), color(srgb …), color-mix results) into one it can read
    const rgb = (colour: string): number[] | undefined => {
      probe.clearRect(0, 0, 1, 1)
      probe.fillStyle = '#000'
      probe.fillStyle = colour
      probe.fillRect(0, 0, 1, 1)
      const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data
      return a === 0 ? undefined : [r!, g!, b!]
    }
    const out: Array<{ what: string; rgb: number[] }> = []
    const walk = (root: ShadowRoot): void => {
      for (const el of root.querySelectorAll('*')) {
        if ((el as HTMLElement).offsetParent == null && el.tagName !== 'SECTION') continue
        const style = getComputedStyle(el)
        const name = `${el.tagName.toLowerCase()}.${el.className}`
        const bg = style.backgroundColor !== 'rgba(0, 0, 0, 0)' ? rgb(style.backgroundColor) : undefined
        if (bg != null) out.push({ what: `background of ${name}`, rgb: bg })
        if (el.textContent?.trim() !== '') {
          const fg = rgb(style.color)
          if (fg != null) out.push({ what: `text of ${name}`, rgb: fg })
        }
        if (el.shadowRoot != null) walk(el.shadowRoot)
      }
    }
    walk(document.getElementById('shop')!.shadowRoot!)
    return out
  })
}

const luminance = ([r, g, b]: number[]): number => (0.2126 * r! + 0.7152 * g! + 0.0722 * b!) / 255

test('a dark host theme reaches every colour of the widget: no light background, no dark text, and axe finds nothing serious', async ({
  browser
}) => {
  const shop = await openShop(browser, '/dark')
  const widget = shop.locator('#shop')
  await expect(widget.getByRole('article', { name: 'Themed' })).toBeVisible({ timeout: 20_000 })
  await widget.getByRole('button', { name: 'Details of acme/themed' }).click()
  await expect(widget.getByRole('region', { name: 'Package details' })).toContainText(
    'A package shown on a dark page'
  )
  const colours = await widgetColours(shop)
  expect(colours.length).toBeGreaterThan(20)
  // surfaces (the status dot, a signal, aside) stay dark; text stays light
  const surfaces = colours.filter(c => c.what.startsWith('background') && !c.what.includes('.dot'))
  expect(surfaces.filter(c => luminance(c.rgb) > 0.45)).toEqual([])
  expect(colours.filter(c => c.what.startsWith('text') && luminance(c.rgb) < 0.45)).toEqual([])
  const audit = await new AxeBuilder({ page: shop }).include('p2p-marketplace').analyze()
  expect(
    audit.violations
      .filter(v => v.impact === 'serious' || v.impact === 'critical')
      .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)
  ).toEqual([])
  await shop.context().close()
})

test("the widget moves between its views without touching the host page's URL, and tells the host when an operation fails", async ({
  browser
}) => {
  const shop = await openShop(browser, '/dark')
  const widget = shop.locator('#shop')
  const url = shop.url()
  const historyLength = await shop.evaluate(() => history.length)
  await expect(widget.getByRole('article', { name: 'Themed' })).toBeVisible({ timeout: 20_000 })
  await widget.getByRole('button', { name: 'Details of acme/themed' }).click()
  const details = widget.getByRole('region', { name: 'Package details' })
  await expect(details.getByRole('heading', { name: 'Themed' })).toBeVisible()
  // the shared link opens the relay's app, not the shop
  await expect(details.locator('[data-snippet="link"]')).toContainText(`${relay.url}/#/pkg/acme/themed@1.0.0`)
  await details.getByRole('button', { name: '← Back' }).click()
  await expect(widget.getByRole('article', { name: 'Themed' })).toBeVisible()
  expect([shop.url(), await shop.evaluate(() => history.length)]).toEqual([url, historyLength])

  // a search the network refuses (more tags than a query may carry): the host hears `mp-error`
  await widget
    .getByLabel('Tags', { exact: true })
    .fill(Array.from({ length: 11 }, (_, i) => `t${i}`).join(', '))
  await widget.getByRole('button', { name: 'Search', exact: true }).click()
  await expect(widget.getByRole('alert')).toContainText('InvalidQueryError')
  const events = await shop.evaluate(
    () =>
      (window as unknown as { widgetEvents: Array<{ type: string; target: string; detail: unknown }> })
        .widgetEvents
  )
  expect(events.filter(e => e.type === 'mp-error')).toEqual([
    {
      type: 'mp-error',
      target: 'shop',
      detail: { name: 'InvalidQueryError', message: expect.stringContaining('tags') as unknown }
    }
  ])
  expect(events).toContainEqual({
    type: 'mp-select',
    target: 'shop',
    detail: { id: 'acme/themed', version: '1.0.0' }
  })
  expect(shop.url()).toBe(url)
  await shop.context().close()
})

test('the `package` attribute opens that package’s page, and `theme="dark"` themes the widget on its own', async ({
  browser
}) => {
  const shop = await openShop(browser, '/package')
  const widget = shop.locator('#shop')
  const details = widget.getByRole('region', { name: 'Package details' })
  await expect(details.getByRole('heading', { name: 'Themed' })).toBeVisible({ timeout: 20_000 })
  await expect(details.getByRole('link', { name: 'https://acme.example/themed' })).toHaveAttribute(
    'rel',
    'noopener noreferrer'
  )
  // the widget's own dark theme (the shop sets no colours of its own here)
  const card = await shop.evaluate(() => {
    const search = document.getElementById('shop')!.shadowRoot!.querySelector('mp-search')!
    return getComputedStyle(search.shadowRoot!.querySelector('section')!).backgroundColor
  })
  expect(card).toBe('rgb(24, 32, 43)')
  await shop.context().close()
})
