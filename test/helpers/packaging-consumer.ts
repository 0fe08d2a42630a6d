/**
 * A third-party project that installs the `p2p-marketplace` tarball (test/integration/packaging.test.ts):
 * a Node script using the node API, a TypeScript file type-checked against the package's
 * declarations, and a shop page embedding the widget with a Playwright test of its own that uses
 * `p2p-marketplace/testing`. Kept as text: these files import the installed package, which the
 * repository itself cannot resolve.
 */

/**
 * Node: the API's shape; two nodes online against the relay, connected directly over WebRTC, one
 * publishing; and which file of `@libp2p/webrtc` the process loaded. Prints one JSON line.
 */
export const NODE_SCRIPT = `
import { registerHooks } from 'node:module'

const webrtcFiles = []
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context)
    if (resolved.url.includes('/@libp2p/webrtc/')) webrtcFiles.push(resolved.url)
    return resolved
  }
})

const api = await import('p2p-marketplace')
const otel = await import('p2p-marketplace/otel')
const relay = process.env.RELAY_URL
const deadline = () => AbortSignal.timeout(30_000)
const a = await api.createMarketplaceNode({ configUrl: relay })
const b = await api.createMarketplaceNode({ configUrl: relay })
try {
  await Promise.all([a.waitFor('online', { signal: deadline() }), b.waitFor('online', { signal: deadline() })])
  const methods = ['status', 'peers', 'publish', 'search', 'searchStream', 'fetchContent', 'getPackage',
    'listVersions', 'addEventListener', 'removeEventListener', 'stop']
  // the node says when a peer's connection changes: wait for the direct one to b
  const isDirect = () => a.peers().some(p => p.peerId === b.peerId && p.direct)
  if (!isDirect())
    await new Promise((resolve, reject) => {
      const timeout = AbortSignal.timeout(30_000)
      const onPeer = () => {
        if (!isDirect()) return
        a.removeEventListener('peer', onPeer)
        resolve()
      }
      a.addEventListener('peer', onPeer)
      timeout.addEventListener('abort', () => {
        a.removeEventListener('peer', onPeer)
        reject(new Error('no direct connection: ' + JSON.stringify(a.peers())))
      })
    })
  const direct = a.peers().find(p => p.peerId === b.peerId)
  const published = await a.publish({
    id: 'node-maker/from-node', version: '1.0.0', title: 'From Node', description: 'Published by a Node script',
    license: 'MIT', tags: ['from-node']
  }, { signal: deadline() })
  console.log(JSON.stringify({
    exports: Object.keys(api).sort(),
    otelExports: Object.keys(otel).sort(),
    peerId: a.peerId,
    methods: Object.fromEntries(methods.map(m => [m, typeof a[m]])),
    status: a.status(),
    direct: { transport: direct.transport, direct: direct.direct },
    published,
    webrtcFiles: [...new Set(webrtcFiles)]
  }))
} finally {
  await Promise.all([a.stop(), b.stop()])
}
process.exit(0)
`

/** Compiles only if the package's declarations give these types (and not \`any\`). */
export const TYPES_CHECK = `
import { createMarketplaceNode, InvalidManifestError } from 'p2p-marketplace'
import type { MarketplaceNode, NodeStatus, PackageManifest, SearchResult } from 'p2p-marketplace'
import { createTracerProvider } from 'p2p-marketplace/otel'
import type { P2pMarketplaceElement, MpSelectDetail } from 'p2p-marketplace/widget'
import { marketplaceWidget, test } from 'p2p-marketplace/testing'
import type { MarketplaceWidget } from 'p2p-marketplace/testing'

type IsAny<T> = 0 extends 1 & T ? true : false
type Assert<T extends true> = T
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

const element = document.querySelector('p2p-marketplace')
export type Checks = [
  Assert<Same<typeof element, P2pMarketplaceElement | null>>,
  Assert<Same<NonNullable<typeof element>['marketplace'], MarketplaceNode | undefined>>,
  Assert<IsAny<MarketplaceNode> extends false ? true : false>,
  Assert<Same<Awaited<ReturnType<MarketplaceNode['search']>>, SearchResult>>,
  Assert<Same<ReturnType<MarketplaceNode['status']>, NodeStatus>>,
  Assert<Same<ReturnType<typeof marketplaceWidget>, MarketplaceWidget>>,
  Assert<IsAny<typeof createTracerProvider> extends false ? true : false>,
  Assert<IsAny<typeof test> extends false ? true : false>
]

element?.addEventListener('mp-select', event => {
  const detail: MpSelectDetail = event.detail
  console.log(detail.id, detail.version)
})
element?.addEventListener('mp-status', event => console.log(event.detail.state satisfies NodeStatus['state']))
document.addEventListener('mp-published', event => console.log(event.detail.traceId.length))

export async function make(manifest: PackageManifest): Promise<string> {
  const node = await createMarketplaceNode({ configUrl: 'http://127.0.0.1:8080' })
  try {
    return (await node.publish(manifest)).traceId
  } catch (err) {
    if (err instanceof InvalidManifestError) return err.message
    throw err
  } finally {
    await node.stop()
  }
}
`

export const TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2023',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023', 'DOM', 'DOM.Iterable'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true
  },
  files: ['types-check.ts']
})

/** The shop's page: its own markup and styles, and the widget loaded from the relay. */
export const SHOP_SERVER = `
import { createServer } from 'node:http'

const page = \`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>A shop</title><style>* { font-family: serif; text-transform: uppercase }</style></head>
  <body>
    <h1>A shop that lists packages</h1>
    <p2p-marketplace id="packages" mode="both" heading="Packages for the shop"></p2p-marketplace>
    <script type="module" src="\${process.env.RELAY_URL}/widget/p2p-marketplace.js"></script>
  </body>
</html>\`
createServer((req, res) => {
  res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
  res.end(req.url === '/' ? page : 'not found')
}).listen(Number(process.env.SITE_PORT), 'localhost')
`

export const PLAYWRIGHT_CONFIG = `
import { defineConfig } from '@playwright/test'

const site = 'http://localhost:' + process.env.SITE_PORT
export default defineConfig({
  testDir: 'tests',
  workers: 1,
  retries: 0,
  timeout: 90_000,
  reporter: [['list']],
  webServer: { command: 'node site/serve.mjs', url: site + '/', reuseExistingServer: false },
  use: { baseURL: site, launchOptions: JSON.parse(process.env.CHROMIUM_LAUNCH) }
})
`

/** The shop's own test, written against the testing entry point only. */
export const SHOP_SPEC = `
import { test, expect } from 'p2p-marketplace/testing'

test('the shop page embeds the widget: online, publish, search', async ({ page, marketplaceWidget }) => {
  await page.goto('/')
  const widget = marketplaceWidget('#packages')
  const peerId = await widget.waitForOnline()
  expect(peerId).toMatch(/^12D3KooW/)
  expect((await widget.status()).relays).toBeGreaterThan(0)

  const published = await widget.publish({
    id: 'shop-maker/left-pad', version: '1.0.0', title: 'Left pad', description: 'Pads strings', license: 'MIT'
  })
  expect(published.traceId).toMatch(/^[0-9a-f]{32}$/)
  await widget.waitForPackages({ text: 'left pad' }, ['shop-maker/left-pad'])
  // published by a Node script through the relay before this page opened
  await widget.waitForPackages({ text: 'from node' }, ['node-maker/from-node'])

  // reached through the element, never a global of the host page
  expect(await page.evaluate(() => 'p2pMarketplace' in window)).toBe(false)
  expect(await widget.evaluate(node => node.peerId)).toBe(peerId)
})
`
