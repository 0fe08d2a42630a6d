import { CpuHogs } from '../test/helpers/cpu-hogs.ts'
import { withRelaySession } from './relay-session.ts'
import { summarize } from './stats.ts'
import type { Summary } from './stats.ts'
import type { DirectDialStats } from '../src/core/network/direct-connector.ts'
import type { Browser, Page } from 'playwright-core'

/** What one tab reports at the end of a run (its `performance.now()` clock starts at navigation). */
interface TabReport {
  peerId: string
  relayConnectedAt?: number
  onlineAt?: number
  firstDirectAt?: number
  directPeers: number
  dials: Pick<
    DirectDialStats,
    'attempts' | 'firstDials' | 'firstDialSuccesses' | 'recentErrors' | 'errorsByClass' | 'attemptsByPeer'
  >
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
 * times, and measures bootstrap and direct-mesh formation.
 */
export async function benchNetwork(
  browser: Browser,
  tabs: number,
  runs: number,
  { meshLimitMs = 60_000, cpuHogs = 0 }: { meshLimitMs?: number; cpuHogs?: number } = {}
): Promise<NetworkFigures> {
  const errorsByClass: Record<string, number> = {}
  const pairDials: number[] = []
  let hogsText: string | undefined
  const relayConnected: number[] = []
  const online: number[] = []
  const firstDirect: number[] = []
  const mesh: number[] = []
  let firstDials = 0
  let firstDialSuccesses = 0
  let incomplete = 0
  const dialErrors: string[] = []
  const heapMB: number[] = []

  for (let run = 0; run < runs; run++) {
    const hogs = cpuHogs > 0 ? CpuHogs.start(cpuHogs, meshLimitMs + 60_000) : undefined
    hogsText ??= hogs?.describe()
    await withRelaySession(browser, async ({ relay, openTab }) => {
      const pages = await Promise.all(Array.from({ length: tabs }, openTab))
      const started = Date.now()
      await Promise.all(pages.map(async p => await p.goto(relay.url)))
      let meshMs: number | undefined
      while (Date.now() - started < meshLimitMs) {
        const direct = await Promise.all(
          pages.map(async p => await p.evaluate(() => window.p2pMarketplace?.status().directPeers ?? 0))
        )
        if (direct.every(d => d === tabs - 1)) {
          meshMs = Date.now() - started
          break
        }
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      if (meshMs == null) incomplete++
      else mesh.push(meshMs)
      for (const page of pages) heapMB.push(await jsHeapMB(page))

      const reports = await Promise.all(
        pages.map(
          async p =>
            await p.evaluate((): TabReport => {
              const node = window.p2pMarketplace
              const dials = node?.dialStats ?? {
                attempts: 0,
                firstDials: 0,
                firstDialSuccesses: 0,
                recentErrors: [],
                errorsByClass: {},
                attemptsByPeer: {}
              }
              return {
                peerId: node?.peerId ?? '',
                ...node?.timings,
                directPeers: node?.status().directPeers ?? 0,
                dials
              }
            })
        )
      )
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
      console.log(
        `  ${tabs} tabs${hogs != null ? ` + ${cpuHogs} CPU hogs` : ''}, run ${run + 1}/${runs}: mesh ${meshMs != null ? `${meshMs} ms` : 'INCOMPLETE'}`
      )
    }).finally(async () => await hogs?.stop())
  }

  return {
    tabs,
    runs,
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
