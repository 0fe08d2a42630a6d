/**
 * The network benchmark beside its reference, in the same run: the app and a plain js-libp2p page
 * (`bench/reference/`: the app's libp2p configuration, no marketplace, no tracing, no UI), run
 * alternately (app, plain, app, plain, …), each run on a fresh relay serving both from one
 * temporary directory (a copy of the app's build and the plain page's, built by its own Vite
 * config), so every network figure of the app is also a ratio to the plain page's, measured
 * minutes apart on the same machine.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { networkFigures, networkRun } from './network.ts'
import { percentile } from './stats.ts'
import type { NetworkFigures, PageKind, RunResult } from './network.ts'
import type { Browser } from 'playwright-core'

/** One run, in the order they ran. */
export interface ReferenceRound {
  kind: PageKind
  /** full direct mesh (ms); null: not within the limit. */
  meshMs: number | null
  /** medians over the run's tabs (ms from navigation). */
  relayConnectedMs: number
  onlineMs: number
  firstDirectMs: number
  /** first dials that ended direct / first dials. */
  firstDials: string
}

export interface ReferenceComparison {
  tabs: number
  /** runs of each page. */
  runs: number
  plain: NetworkFigures
  /** the app's median / the plain page's median (below 1: the app is faster). */
  ratios: {
    navigationToRelayConnected: number
    navigationToOnline: number
    navigationToFirstDirect: number
    fullDirectMesh: number
  }
  rounds: ReferenceRound[]
  /** When each start-up step ended, median over all tabs of all runs (ms from navigation). */
  phasesMs: Record<PageKind, Record<string, number>>
}

export interface ReferenceFigures {
  /** What the plain page is. */
  page: string
  /** The plain page's JS (one file, all of it loaded at once), gzip KB (absent in results before it was measured). */
  pageGzipKB?: number
  /** 1-minute load average of the machine at the start and the end of the scenario. */
  loadAverage: { start: number; end: number }
  comparisons: ReferenceComparison[]
}

export const REFERENCE_PAGE =
  'bench/reference/: nodeLibp2pOptions from src/core/network as the app runs it (WebSockets, WebRTC, circuit relay v2, noise, yamux, the relay-aware gater, gossipsub, client-mode kad-dht, identify, identify push, ping, connection liveness, pubsub peer discovery every 1 s), an in-memory datastore and a fresh Ed25519 key; it fetches /config.json, dials the relays, and dials the /webrtc address of each tab announced on the discovery topic (lower peer id dials, one dial in flight per peer, a failed pair again at its next announcement); no marketplace, tracing, UI, relay keeper or direct connector'

const round1 = (v: number): number => Math.round(v * 10) / 10
const median = (values: number[]): number =>
  values.length === 0 ? Number.NaN : round1(percentile(values, 50))

/**
 * Copies the app's build (`dist`) into a temporary directory and builds the plain page into its
 * `reference/` folder: one directory for the relays to serve, unaffected by a rebuild of `dist`
 * meanwhile. Returns it and a function that removes it.
 */
export async function prepareReference(
  dist = 'dist'
): Promise<{ staticDir: string; gzipKB: number; remove: () => void }> {
  const staticDir = mkdtempSync(join(tmpdir(), 'mp-bench-reference-'))
  const remove = (): void => rmSync(staticDir, { recursive: true, force: true })
  try {
    cpSync(dist, staticDir, { recursive: true })
    const { build } = await import('vite')
    await build({
      configFile: join(import.meta.dirname, 'reference', 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: join(staticDir, 'reference') }
    })
  } catch (err) {
    remove()
    throw err
  }
  const assets = join(staticDir, 'reference', 'assets')
  const gzipBytes = readdirSync(assets)
    .filter(f => f.endsWith('.js'))
    .reduce((sum, f) => sum + gzipSync(readFileSync(join(assets, f))).byteLength, 0)
  return { staticDir, gzipKB: Math.round(gzipBytes / 102.4) / 10, remove }
}

/** `runs` runs of `tabs` tabs of each page, alternating (app first), served from `staticDir`. */
export async function compareWithReference(
  browser: Browser,
  tabs: number,
  runs: number,
  staticDir: string
): Promise<{ app: NetworkFigures; comparison: ReferenceComparison }> {
  const results: Record<PageKind, RunResult[]> = { app: [], plain: [] }
  const rounds: ReferenceRound[] = []
  for (let run = 0; run < runs; run++) {
    for (const kind of ['app', 'plain'] as const) {
      const result = await networkRun(browser, kind, tabs, { staticDir })
      results[kind].push(result)
      const { reports } = result
      const pick = (f: (r: RunResult['reports'][number]) => number | undefined): number =>
        median(reports.map(f).filter((v): v is number => v != null))
      const round: ReferenceRound = {
        kind,
        meshMs: result.meshMs ?? null,
        relayConnectedMs: pick(r => r.relayConnectedAt),
        onlineMs: pick(r => r.onlineAt),
        firstDirectMs: pick(r => r.firstDirectAt),
        firstDials: `${reports.reduce((n, r) => n + r.dials.firstDialSuccesses, 0)}/${reports.reduce((n, r) => n + r.dials.firstDials, 0)}`
      }
      rounds.push(round)
      console.log(
        `  ${tabs} tabs, ${kind === 'app' ? 'app  ' : 'plain'} run ${run + 1}/${runs}: mesh ${round.meshMs ?? 'INCOMPLETE'} ms, relay connected ${round.relayConnectedMs} ms, online ${round.onlineMs} ms, first direct ${round.firstDirectMs} ms, first dials direct ${round.firstDials}`
      )
    }
  }
  const app = networkFigures(tabs, results.app)
  const plain = networkFigures(tabs, results.plain)
  const ratio = (a: { median: number }, b: { median: number }): number =>
    Math.round((a.median / b.median) * 100) / 100
  const phasesOf = (list: RunResult[]): Record<string, number> => {
    const all: Record<string, number[]> = {}
    for (const r of list.flatMap(l => l.reports))
      for (const [name, at] of Object.entries(r.phases)) (all[name] ??= []).push(at)
    return Object.fromEntries(
      Object.entries(all)
        .map(([name, at]) => [name, median(at)] as const)
        .sort((a, b) => a[1] - b[1])
    )
  }
  return {
    app,
    comparison: {
      tabs,
      runs,
      plain,
      ratios: {
        navigationToRelayConnected: ratio(
          app.navigationToRelayConnectedMs,
          plain.navigationToRelayConnectedMs
        ),
        navigationToOnline: ratio(app.navigationToOnlineMs, plain.navigationToOnlineMs),
        navigationToFirstDirect: ratio(app.navigationToFirstDirectMs, plain.navigationToFirstDirectMs),
        fullDirectMesh: ratio(app.fullDirectMeshMs, plain.fullDirectMeshMs)
      },
      rounds,
      phasesMs: { app: phasesOf(results.app), plain: phasesOf(results.plain) }
    }
  }
}

/**
 * The network scenario with its reference: for each `[tabs, runs]`, the app and the plain page
 * alternately. Returns the app's figures (results.json's `network`) and the comparison.
 */
export async function benchNetworkWithReference(
  browser: Browser,
  scale: number[][],
  dist = 'dist'
): Promise<{ network: NetworkFigures[]; reference: ReferenceFigures }> {
  const loadStart = round1(loadavg()[0] ?? 0)
  const { staticDir, gzipKB, remove } = await prepareReference(dist)
  const network: NetworkFigures[] = []
  const comparisons: ReferenceComparison[] = []
  try {
    for (const [tabs = 2, runs = 1] of scale) {
      console.log(`bench: network formation, ${tabs} tabs × ${runs} runs each of the app and the plain page`)
      const { app, comparison } = await compareWithReference(browser, tabs, runs, staticDir)
      network.push(app)
      comparisons.push(comparison)
    }
  } finally {
    remove()
  }
  return {
    network,
    reference: {
      page: REFERENCE_PAGE,
      pageGzipKB: gzipKB,
      loadAverage: { start: loadStart, end: round1(loadavg()[0] ?? 0) },
      comparisons
    }
  }
}
