import { CpuHogs } from '../test/helpers/cpu-hogs.ts'
import { withRelaySession } from './relay-session.ts'
import { summarize } from './stats.ts'
import type { Summary } from './stats.ts'
import type { DirectDialStats } from '../src/core/network/direct-connector.ts'
import type { Browser, Page } from 'playwright-core'

/** The pages measured: the app, and the plain libp2p page it is compared with (`bench/reference/`). */
export type PageKind = 'app' | 'plain'

/** Where each page is on the relay, and the global its node is on. */
const PAGES: Record<PageKind, { path: string; global: string }> = {
  app: { path: '/', global: 'p2pMarketplace' },
  plain: { path: '/reference/', global: 'p2pReference' }
}

type DialReport = Pick<
  DirectDialStats,
  'attempts' | 'firstDials' | 'firstDialSuccesses' | 'recentErrors' | 'errorsByClass' | 'attemptsByPeer'
>

/** What the benchmark reads of either page's node (the app's `MarketplaceNode`, the plain page's `ReferenceNode`). */
interface BenchNode {
  peerId: string
  timings?: { relayConnectedAt?: number; onlineAt?: number; firstDirectAt?: number }
  phases?: Record<string, number>
  status: () => { directPeers: number }
  dialStats?: DialReport
}

/** What one tab reports at the end of a run (its `performance.now()` clock starts at navigation). */
interface TabReport {
  peerId: string
  relayConnectedAt?: number
  onlineAt?: number
  firstDirectAt?: number
  directPeers: number
  dials: DialReport
  /** When each start-up step ended (ms from navigation): the page's own and the browser's. */
  phases: Record<string, number>
}

/** One run: `tabs` tabs of one page on a fresh relay. */
export interface RunResult {
  kind: PageKind
  /** first navigation → full direct mesh (ms); undefined: not within the limit. */
  meshMs?: number
  reports: TabReport[]
  heapMB: number[]
}

export interface NetworkFigures {
  tabs: number
  runs: number
  /** navigation → WebSocket connection to the relay, per tab (ms). */
  navigationToRelayConnectedMs: Summary
  /** navigation → relay reservation held (`online`), per tab (ms). */
  navigationToOnlineMs: Summary
  /** navigation → the tab's first direct WebRTC connection, per tab (ms). */
  navigationToFirstDirectMs: Summary
  /** first navigation → every tab directly connected to every other, per run (ms). */
  fullDirectMeshMs: Summary
  /** share of peers whose very first dial ended direct. */
  firstDialSuccessRate: number
  /** runs whose mesh did not complete within the limit. */
  incompleteMeshes: number
  /** why dials failed, as the tabs reported it. */
  dialErrors: string[]
  /** failed dials by class (see docs/direct-mesh.md), summed over tabs and runs. */
  dialErrorsByClass: Record<string, number>
  /** dials both sides of a pair made until it was direct (or the limit passed), per pair. */
  dialsPerPair: Summary
  /** CPU hogs (busy loops) running beside the tabs, if any. */
  cpuHogs?: string
  /** each tab's JS heap in use once the mesh formed (or the limit passed), after a GC (MB). */
  jsHeapPerTabMB: Summary
}

/**
 * Opens `tabs` tabs (each its own browser context) on a fresh relay, `runs`
 * times, and measures bootstrap and direct-mesh formation of the app.
 */
export async function benchNetwork(
  browser: Browser,
  tabs: number,
  runs: number,
  { meshLimitMs = 60_000, cpuHogs = 0 }: { meshLimitMs?: number; cpuHogs?: number } = {}
): Promise<NetworkFigures> {
  let hogsText: string | undefined
  const results: RunResult[] = []
  for (let run = 0; run < runs; run++) {
    const hogs = cpuHogs > 0 ? CpuHogs.start(cpuHogs, meshLimitMs + 60_000) : undefined
    hogsText ??= hogs?.describe()
    const result = await networkRun(browser, 'app', tabs, { meshLimitMs }).finally(
      async () => await hogs?.stop()
    )
    results.push(result)
    console.log(
      `  ${tabs} tabs${hogs != null ? ` + ${cpuHogs} CPU hogs` : ''}, run ${run + 1}/${runs}: mesh ${result.meshMs != null ? `${result.meshMs} ms` : 'INCOMPLETE'}`
    )
  }
  return networkFigures(tabs, results, hogsText)
}

/**
 * Collects the app's start-up phases into `window.__benchPhases`: its `bootstrap` span's events,
 * and `circuit_reserved`, when the circuit transport reported the reservation (libp2p's
 * `transport:listening`, what the plain page counts as online), beside the app's own
 * `relay_reserved`, when its status said so; and `relay_identified`, when identify with the relay
 * ended (the circuit transport asks for a reservation only then).
 */
function watchBootstrap(): void {
  type HrTime = [number, number]
  const phases: Record<string, number> = {}
  ;(window as unknown as { __benchPhases: Record<string, number> }).__benchPhases = phases
  const ms = (t: HrTime): number => t[0] * 1000 + t[1] / 1e6 - performance.timeOrigin
  addEventListener('p2p-marketplace:ready', evt => {
    phases.node_ready = performance.now()
    const node = (evt as CustomEvent<EventTarget>).detail
    node.addEventListener('span', e => {
      const span = (
        e as CustomEvent<{ name: string; startTime: HrTime; events: Array<{ name: string; time: HrTime }> }>
      ).detail
      if (span.name !== 'bootstrap' || phases.node_created != null) return
      phases.node_created = ms(span.startTime)
      for (const event of span.events) phases[event.name] ??= ms(event.time)
    })
    const { libp2p } = node as unknown as {
      libp2p: {
        addEventListener: (type: string, f: (e: Event) => void) => void
        getMultiaddrs: () => unknown[]
      }
    }
    const reserved = (): void => {
      if (libp2p.getMultiaddrs().some(ma => String(ma).includes('/p2p-circuit')))
        phases.circuit_reserved ??= performance.now()
    }
    libp2p.addEventListener('transport:listening', reserved)
    reserved()
    // the relay: the peer that serves circuit relay's hop protocol
    libp2p.addEventListener('peer:identify', (e: Event) => {
      const { protocols } = (e as CustomEvent<{ protocols: string[] }>).detail
      if (protocols.includes('/libp2p/circuit/relay/0.2.0/hop')) phases.relay_identified ??= performance.now()
    })
  })
}

/**
 * One run: `tabs` tabs of `kind`'s page (each its own browser context) opened at once on a fresh
 * relay serving `staticDir` (the relay's default: ./dist); waits up to `meshLimitMs` for the full
 * direct mesh, then reads every tab's report and JS heap.
 */
export async function networkRun(
  browser: Browser,
  kind: PageKind,
  tabs: number,
  { meshLimitMs = 60_000, staticDir }: { meshLimitMs?: number; staticDir?: string } = {}
): Promise<RunResult> {
  const { path, global } = PAGES[kind]
  return await withRelaySession(
    browser,
    async ({ relay, openTab }) => {
      const pages = await Promise.all(Array.from({ length: tabs }, openTab))
      if (kind === 'app') await Promise.all(pages.map(async p => await p.addInitScript(watchBootstrap)))
      const started = Date.now()
      await Promise.all(pages.map(async p => await p.goto(`${relay.url}${path}`)))
      let meshMs: number | undefined
      while (Date.now() - started < meshLimitMs) {
        const direct = await Promise.all(
          pages.map(
            async p =>
              await p.evaluate(
                g =>
                  (window as unknown as Record<string, BenchNode | undefined>)[g]?.status().directPeers ?? 0,
                global
              )
          )
        )
        if (direct.every(d => d === tabs - 1)) {
          meshMs = Date.now() - started
          break
        }
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      const heapMB: number[] = []
      for (const page of pages) heapMB.push(await jsHeapMB(page))
      const reports = await Promise.all(
        pages.map(
          async p =>
            await p.evaluate((g): TabReport => {
              const node = (window as unknown as Record<string, BenchNode | undefined>)[g]
              const dials = node?.dialStats ?? {
                attempts: 0,
                firstDials: 0,
                firstDialSuccesses: 0,
                recentErrors: [],
                errorsByClass: {},
                attemptsByPeer: {}
              }
              const nav = performance.getEntriesByType('navigation')[0] as
                PerformanceNavigationTiming | undefined
              const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[]
              const config = resources.find(r => new URL(r.name).pathname === '/config.json')
              const scripts = resources.filter(r => r.name.endsWith('.js'))
              const browserPhases: Record<string, number | undefined> = {
                html_received: nav?.responseEnd,
                dom_content_loaded: nav?.domContentLoadedEventEnd,
                config_response: config?.responseEnd,
                scripts_loaded: scripts.length > 0 ? Math.max(...scripts.map(r => r.responseEnd)) : undefined
              }
              const phases: Record<string, number> = {
                ...(window as unknown as { __benchPhases?: Record<string, number> }).__benchPhases,
                ...node?.phases
              }
              for (const [k, v] of Object.entries(browserPhases)) if (v != null) phases[k] = v
              return {
                peerId: node?.peerId ?? '',
                ...(node?.timings?.relayConnectedAt != null
                  ? { relayConnectedAt: node.timings.relayConnectedAt }
                  : {}),
                ...(node?.timings?.onlineAt != null ? { onlineAt: node.timings.onlineAt } : {}),
                ...(node?.timings?.firstDirectAt != null
                  ? { firstDirectAt: node.timings.firstDirectAt }
                  : {}),
                directPeers: node?.status().directPeers ?? 0,
                dials: {
                  attempts: dials.attempts,
                  firstDials: dials.firstDials,
                  firstDialSuccesses: dials.firstDialSuccesses,
                  recentErrors: dials.recentErrors,
                  errorsByClass: dials.errorsByClass,
                  attemptsByPeer: dials.attemptsByPeer
                },
                phases
              }
            }, global)
        )
      )
      return { kind, ...(meshMs != null ? { meshMs } : {}), reports, heapMB }
    },
    staticDir != null ? { STATIC_DIR: staticDir } : {}
  )
}

/** The figures of `results`, runs of `tabs` tabs each. */
export function networkFigures(tabs: number, results: RunResult[], hogsText?: string): NetworkFigures {
  const errorsByClass: Record<string, number> = {}
  const pairDials: number[] = []
  const relayConnected: number[] = []
  const online: number[] = []
  const firstDirect: number[] = []
  const mesh: number[] = []
  let firstDials = 0
  let firstDialSuccesses = 0
  let incomplete = 0
  const dialErrors: string[] = []
  const heapMB: number[] = []
  for (const { meshMs, reports, heapMB: heap } of results) {
    if (meshMs == null) incomplete++
    else mesh.push(meshMs)
    heapMB.push(...heap)
    for (const r of reports) {
      if (r.relayConnectedAt != null) relayConnected.push(r.relayConnectedAt)
      if (r.onlineAt != null) online.push(r.onlineAt)
      if (r.firstDirectAt != null) firstDirect.push(r.firstDirectAt)
      firstDials += r.dials.firstDials
      firstDialSuccesses += r.dials.firstDialSuccesses
      dialErrors.push(...r.dials.recentErrors)
      for (const [k, n] of Object.entries(r.dials.errorsByClass))
        errorsByClass[k] = (errorsByClass[k] ?? 0) + n
    }
    for (const [i, a] of reports.entries()) {
      for (const b of reports.slice(i + 1)) {
        pairDials.push((a.dials.attemptsByPeer[b.peerId] ?? 0) + (b.dials.attemptsByPeer[a.peerId] ?? 0))
      }
    }
  }
  return {
    tabs,
    runs: results.length,
    navigationToRelayConnectedMs: summarize(relayConnected),
    navigationToOnlineMs: summarize(online),
    navigationToFirstDirectMs: summarize(firstDirect),
    fullDirectMeshMs: summarize(mesh),
    firstDialSuccessRate:
      firstDials === 0 ? Number.NaN : Math.round((firstDialSuccesses / firstDials) * 1000) / 1000,
    incompleteMeshes: incomplete,
    dialErrors,
    dialErrorsByClass: errorsByClass,
    dialsPerPair: summarize(pairDials),
    ...(hogsText != null ? { cpuHogs: hogsText } : {}),
    jsHeapPerTabMB: summarize(heapMB)
  }
}

/** The page's JS heap in use after a full GC, MB (Chrome DevTools Protocol). */
async function jsHeapMB(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page)
  try {
    await cdp.send('HeapProfiler.collectGarbage')
    const { usedSize } = await cdp.send('Runtime.getHeapUsage')
    return Math.round((usedSize / 2 ** 20) * 10) / 10
  } finally {
    await cdp.detach()
  }
}
