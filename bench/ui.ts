/**
 * The web app's and the widget's weight and speed in Debian's Chromium:
 * JS sizes (gzip) of what loads first and what loads lazily, read off Vite's
 * build manifest; first paint, shell ready, time to interactive and time to
 * online of the app; first render and time to online of the widget on
 * another origin's page.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { freePort } from '../test/helpers/relay-process.ts'
import { withRelaySession } from './relay-session.ts'
import { summarize } from './stats.ts'
import type { Summary } from './stats.ts'
import type { Browser, Page } from 'playwright-core'

interface ManifestChunk {
  file: string
  isEntry?: boolean
  imports?: string[]
  dynamicImports?: string[]
}

export interface BundleFigures {
  /** gzip KB of the JS that loads before the first render (the entry and its static imports). */
  initialGzipKB: number
  /** gzip KB of the JS loaded later (dynamic imports and theirs): libp2p, the schema, charts. */
  lazyGzipKB: number
  initialFiles: string[]
  /** Whether libp2p's code is absent from the initial JS and present in the lazy JS. */
  libp2pOnlyLazy: boolean
}

export interface UiFigures {
  runs: number
  app: BundleFigures & {
    /** First contentful paint, from navigation start. */
    firstPaintMs: Summary
    /** The shell's components rendered: the search form is on screen and usable. */
    shellReadyMs: Summary
    /**
     * Lighthouse-style time to interactive: the end of the last long task
     * (> 50 ms) before a 2 s quiet main thread, and not before first paint or
     * DOMContentLoaded; libp2p's lazy start-up counts.
     */
    timeToInteractiveMs: Summary
    /** The node online (relay reservation held): searches reach the network. */
    onlineMs: Summary
  }
  widget: BundleFigures & {
    /** The widget's first render on the host page (its heading in the shadow DOM), from navigation start. */
    firstRenderMs: Summary
    onlineMs: Summary
  }
}

/** A string every build of libp2p's identify protocol carries: marks the chunk holding libp2p. */
const LIBP2P_MARKER = '/ipfs/id/1.0.0'

/** Sizes of the entry `src` (manifest key) and of everything it loads lazily. */
export function bundleFigures(dist: string, entry: string): BundleFigures {
  const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8')) as Record<
    string,
    ManifestChunk
  >
  const initial = new Set<string>()
  const walk = (key: string, into: Set<string>, follow: 'imports' | 'all'): void => {
    const chunk = manifest[key]
    if (chunk == null || into.has(key)) return
    into.add(key)
    for (const k of chunk.imports ?? []) walk(k, into, follow)
    if (follow === 'all') for (const k of chunk.dynamicImports ?? []) walk(k, into, follow)
  }
  walk(entry, initial, 'imports')
  const everything = new Set<string>()
  walk(entry, everything, 'all')
  const lazy = [...everything].filter(k => !initial.has(k))
  const read = (key: string): Buffer => readFileSync(join(dist, manifest[key]!.file))
  const gzipKB = (keys: Iterable<string>): number =>
    Math.round([...keys].reduce((sum, k) => sum + gzipSync(read(k)).byteLength, 0) / 102.4) / 10
  const has = (keys: Iterable<string>): boolean => [...keys].some(k => read(k).includes(LIBP2P_MARKER))
  return {
    initialGzipKB: gzipKB(initial),
    lazyGzipKB: gzipKB(lazy),
    initialFiles: [...initial].map(k => manifest[k]!.file),
    libp2pOnlyLazy: !has(initial) && has(lazy)
  }
}

/** Collects long tasks from the start of every page (buffered observers miss nothing). */
const LONG_TASKS = `
  window.__longTasks = []
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.startTime + e.duration])
  }).observe({ type: 'longtask', buffered: true })
`

/**
 * performance.now() in the page when `predicate` first holds (checked every frame): the predicate
 * returns it. A function, not a string: the app's Content-Security-Policy forbids evaluating strings.
 */
async function when(page: Page, predicate: () => number | false, timeout = 60_000): Promise<number> {
  const handle = await page.waitForFunction(predicate, undefined, { polling: 'raf', timeout })
  return (await handle.jsonValue()) as number
}

/** Waits for 2 s without a long task; returns the TTI as defined on `UiFigures`. */
async function timeToInteractive(page: Page): Promise<number> {
  for (;;) {
    const { now, lastEnd, floor } = await page.evaluate(() => {
      const tasks = (window as unknown as { __longTasks: Array<[number, number]> }).__longTasks
      const paint = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined
      return {
        now: performance.now(),
        lastEnd: Math.max(0, ...tasks.map(t => t[1])),
        floor: Math.max(paint, nav?.domContentLoadedEventEnd ?? 0)
      }
    })
    if (now - lastEnd >= 2000) return Math.max(floor, lastEnd)
    await page.waitForTimeout(2000 - (now - lastEnd))
  }
}

export async function benchUi(browser: Browser, runs: number, dist = 'dist'): Promise<UiFigures> {
  const hostPort = await freePort()
  const hostUrl = `http://127.0.0.1:${hostPort}`
  return await withRelaySession(
    browser,
    async ({ relay, openTab }) => {
      const app = {
        paint: [] as number[],
        shell: [] as number[],
        tti: [] as number[],
        online: [] as number[]
      }
      const widget = { render: [] as number[], online: [] as number[] }
      // the host page: another origin, one script tag from the relay
      const hostPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title></head>
        <body><h1>A shop</h1><p2p-marketplace query="pad"></p2p-marketplace>
        <script type="module" src="${relay.url}/widget/p2p-marketplace.js"></script></body></html>`
      const host = createServer((_req, res) =>
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(hostPage)
      )
      await new Promise<void>(resolve => host.listen(hostPort, '127.0.0.1', resolve))
      try {
        for (let i = 0; i < runs; i++) {
          // each run a fresh browser context: a first visit, nothing cached
          const tab = await openTab()
          await tab.addInitScript(LONG_TASKS)
          await tab.goto(relay.url)
          app.shell.push(
            await when(
              tab,
              () =>
                document.querySelector('mp-search')?.shadowRoot?.querySelector('form') != null &&
                performance.now()
            )
          )
          app.online.push(
            await when(tab, () => window.p2pMarketplace?.status().state === 'online' && performance.now())
          )
          app.paint.push(
            await tab.evaluate(
              () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN
            )
          )
          app.tti.push(await timeToInteractive(tab))
          await tab.context().close()

          const page = await openTab()
          await page.goto(hostUrl)
          widget.render.push(
            await when(
              page,
              () =>
                document.querySelector('p2p-marketplace')?.shadowRoot?.querySelector('h2') != null &&
                performance.now()
            )
          )
          widget.online.push(
            await when(
              page,
              () =>
                (
                  document.querySelector('p2p-marketplace') as
                    (Element & { marketplace?: { status: () => { state: string } } }) | null
                )?.marketplace?.status().state === 'online' && performance.now()
            )
          )
          await page.context().close()
        }
      } finally {
        await new Promise(resolve => host.close(resolve))
      }
      return {
        runs,
        app: {
          ...bundleFigures(dist, 'index.html'),
          firstPaintMs: summarize(app.paint),
          shellReadyMs: summarize(app.shell),
          timeToInteractiveMs: summarize(app.tti),
          onlineMs: summarize(app.online)
        },
        widget: {
          ...bundleFigures(dist, 'widget/p2p-marketplace.ts'),
          firstRenderMs: summarize(widget.render),
          onlineMs: summarize(widget.online)
        }
      }
    },
    { EMBED_ORIGINS: hostUrl }
  )
}
