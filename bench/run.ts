/**
 * `npm run bench`: measures the marketplace in Debian's Chromium and in Node on
 * this machine, prints the figures and writes them as JSON under bench/results/.
 * `--smoke` runs each benchmark once, tiny, to prove it still works (part of
 * `npm test`); its results go to test-results/ and assert nothing about speed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { CHROMIUM_LAUNCH } from '../test/helpers/chromium.ts'
import { benchContent, contentMiB } from './content.ts'
import { benchLocalSearch } from './local-search.ts'
import { benchMarketplace } from './marketplace.ts'
import { benchNat } from './nat.ts'
import { benchNetwork } from './network.ts'
import { benchNetworkWithReference } from './reference.ts'
import { RECOVERY_TARGET_MS, benchRelayRestart } from './relay-restart.ts'
import { benchSimulation } from './simulation.ts'
import { benchTracingOverhead } from './tracing-overhead.ts'
import { benchUi } from './ui.ts'
import type { UiFigures } from './ui.ts'
import type { ContentFigures } from './content.ts'
import type { LocalSearchFigures } from './local-search.ts'
import type { MarketplaceFigures } from './marketplace.ts'
import type { NatResult } from './nat.ts'
import type { NetworkFigures } from './network.ts'
import type { ReferenceFigures } from './reference.ts'
import type { RelayRestartFigures } from './relay-restart.ts'
import type { Percentiles, SimulationFigures } from './simulation.ts'
import type { TracingOverheadFigures } from './tracing-overhead.ts'
import type { Summary } from './stats.ts'

const smoke = process.argv.includes('--smoke')
const outDir = smoke ? join('test-results', 'bench-smoke') : join('bench', 'results')

// `--only simulation,tracing` runs just those benchmarks (named as in results.json) and keeps the
// others' figures from the last results.json; one that has no figures there yet runs too.
// `network` and `reference` run together: the app and the plain libp2p page alternately
const BENCHMARKS = [
  'ui',
  'network',
  'reference',
  'meshStress',
  'nat',
  'relayRestart',
  'marketplace',
  'content',
  'localSearch',
  'tracing',
  'simulation'
]
const NODE_BENCHMARKS = ['localSearch', 'tracing', 'simulation']
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt < 0 ? undefined : (process.argv[onlyAt + 1] ?? '').split(',').filter(n => n !== '')
const unknown = only?.filter(n => !BENCHMARKS.includes(n)) ?? []
if (only?.length === 0 || unknown.length > 0) {
  console.error(`bench: --only takes benchmark names separated by commas, from: ${BENCHMARKS.join(', ')}`)
  process.exit(2)
}
const resultsFile = join(outDir, 'results.json')
const previous = (
  only != null && existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : {}
) as Record<string, unknown>
const selected = (name: string): boolean => only == null || only.includes(name) || previous[name] == null
const kept = <T>(name: string): T => previous[name] as T
const simulationScale = smoke
  ? { nodes: 20, publishes: 5, dhtRecords: 5 }
  : { nodes: 200, publishes: 50, dhtRecords: 20 }
const scale = smoke
  ? {
      network: [[2, 1]],
      meshStress: { tabs: 2, runs: 1 },
      natRuns: 1,
      relayRestart: { tabs: 2, restarts: 1 },
      tabs: 2,
      publishes: 2,
      content: { mib: contentMiB(1), rounds: 1 },
      lateJoiners: 1,
      catalogs: [1_000],
      queries: 20,
      tracedOperations: 3,
      uiRuns: 1
    }
  : {
      network: [
        [2, 5],
        [6, 3]
      ],
      // the e2e stress test's setting: eight tabs, two busy loops on the two cores
      meshStress: { tabs: 8, runs: 2 },
      natRuns: 5,
      relayRestart: { tabs: 6, restarts: 5 },
      tabs: 6,
      publishes: 12,
      // BENCH_CONTENT_MIB sets the size of each artifact
      content: { mib: contentMiB(16), rounds: 3 },
      lateJoiners: 3,
      catalogs: [10_000, 100_000],
      queries: 300,
      tracedOperations: 60,
      uiRuns: 5
    }

const cpuCheckAtStart = cpuCheckMs()
if (BENCHMARKS.some(n => selected(n) && !NODE_BENCHMARKS.includes(n))) {
  console.log('bench: building the web app…')
  const { build } = await import('vite')
  await build({ logLevel: 'warn' })
}

const browser = await chromium.launch(CHROMIUM_LAUNCH)
const networkSelected = selected('network') || selected('reference')
let network: NetworkFigures[] = networkSelected ? [] : kept('network')
let reference: ReferenceFigures | undefined = networkSelected ? undefined : kept('reference')
let meshStress: NetworkFigures | undefined = selected('meshStress') ? undefined : kept('meshStress')
let nat: NatResult
let relayRestart: RelayRestartFigures
let marketplace: MarketplaceFigures
let content: ContentFigures
let ui: UiFigures
try {
  if (selected('ui')) {
    console.log(`bench: app and widget load, ${scale.uiRuns} cold visits each`)
    ui = await benchUi(browser, scale.uiRuns)
  } else ui = kept('ui')
  if (networkSelected) ({ network, reference } = await benchNetworkWithReference(browser, scale.network))
  if (selected('meshStress')) {
    const { tabs, runs } = scale.meshStress
    console.log(`bench: mesh formation under stress, ${tabs} tabs + 2 CPU hogs × ${runs} runs`)
    meshStress = await benchNetwork(browser, tabs, runs, { meshLimitMs: 300_000, cpuHogs: 2 })
  }
  if (selected('nat')) {
    console.log(`bench: NAT traversal in the internet in a box, ${scale.natRuns} runs`)
    nat = await benchNat(scale.natRuns)
  } else nat = kept('nat')
  if (selected('relayRestart')) {
    const { tabs, restarts } = scale.relayRestart
    console.log(`bench: relay killed and restarted, ${tabs} tabs × ${restarts} restarts`)
    relayRestart = await benchRelayRestart(browser, tabs, restarts)
  } else relayRestart = kept('relayRestart')
  if (selected('marketplace')) {
    console.log(
      `bench: publish → found, ${scale.tabs} tabs, ${scale.publishes} publishes, ${scale.lateJoiners} late joiners`
    )
    marketplace = await benchMarketplace(browser, scale.tabs, scale.publishes, scale.lateJoiners)
  } else marketplace = kept('marketplace')
  if (selected('content')) {
    const { mib, rounds } = scale.content
    console.log(`bench: content transfer, ${mib} MiB × ${rounds} rounds each way, beside raw ceilings`)
    content = await benchContent(browser, mib, rounds)
  } else content = kept('content')
} finally {
  await browser.close()
}

const localSearch: LocalSearchFigures[] = selected('localSearch') ? [] : kept('localSearch')
for (const count of selected('localSearch') ? scale.catalogs : []) {
  console.log(`bench: local search over ${count} packages`)
  localSearch.push(await benchLocalSearch(count, scale.queries))
}

let tracing: TracingOverheadFigures
if (selected('tracing')) {
  console.log(`bench: tracing overhead, ${scale.tracedOperations} publishes and searches per mode`)
  tracing = await benchTracingOverhead(scale.tracedOperations)
} else tracing = kept('tracing')

let simulation: SimulationFigures
if (selected('simulation')) {
  const { nodes, ...init } = simulationScale
  console.log(`bench: simulation, ${nodes} nodes in one process (memory transport)`)
  simulation = await benchSimulation(nodes, {
    ...init,
    log: line => console.log(`bench: simulation: ${line}`)
  })
} else simulation = kept('simulation')

const result = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    browser: browser.version(),
    cpuCheckMs: { start: cpuCheckAtStart, end: cpuCheckMs() }
  },
  smoke,
  ui,
  network,
  reference,
  meshStress,
  nat,
  relayRestart,
  marketplace,
  content,
  localSearch,
  tracing,
  simulation
}
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'results.json'), JSON.stringify(result, null, 2) + '\n')

const fmt = (s: Summary): string => `${s.median} / ${s.p95}`
const lines = [
  `Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}, Chromium ${result.machine.browser}. CPU check (a fixed single-thread workload; higher = a slower or busier machine): ${result.machine.cpuCheckMs.start} ms at the start, ${result.machine.cpuCheckMs.end} ms at the end.`,
  '',
  `### Web app and widget (${ui.runs} cold visits; ms from navigation, median / p95)`,
  '',
  `- app JS, gzip: ${ui.app.initialGzipKB} KB initial, ${ui.app.lazyGzipKB} KB lazy (libp2p only in the lazy part: ${ui.app.libp2pOnlyLazy ? 'yes' : 'NO'})`,
  `- app: first paint ${fmt(ui.app.firstPaintMs)}, shell ready ${fmt(ui.app.shellReadyMs)}, time to interactive ${fmt(ui.app.timeToInteractiveMs)}, online ${fmt(ui.app.onlineMs)}`,
  `- widget JS, gzip: ${ui.widget.initialGzipKB} KB initial (aim < 60), ${ui.widget.lazyGzipKB} KB lazy (libp2p only in the lazy part: ${ui.widget.libp2pOnlyLazy ? 'yes' : 'NO'})`,
  `- widget on another origin's page: first render ${fmt(ui.widget.firstRenderMs)}, online ${fmt(ui.widget.onlineMs)}`,
  '',
  '### Network formation (ms, median / p95)',
  '',
  '| tabs | nav→relay connected | nav→online | nav→first direct | full direct mesh | first-dial success | incomplete | JS heap per tab (MB) |',
  '|---|---|---|---|---|---|---|---|',
  ...network.map(
    f =>
      `| ${f.tabs} | ${fmt(f.navigationToRelayConnectedMs)} | ${fmt(f.navigationToOnlineMs)} | ${fmt(f.navigationToFirstDirectMs)} | ${fmt(f.fullDirectMeshMs)} | ${(f.firstDialSuccessRate * 100).toFixed(1)} % | ${f.incompleteMeshes}/${f.runs} | ${f.jsHeapPerTabMB == null ? '–' : fmt(f.jsHeapPerTabMB)} |`
  ),
  '',
  ...referenceSummary(reference),
  ...(meshStress == null
    ? []
    : [
        `### Mesh formation under stress (${meshStress.tabs} tabs beside ${meshStress.cpuHogs ?? 'CPU hogs'}, ${meshStress.runs} runs)`,
        '',
        `- full direct mesh: ${fmt(meshStress.fullDirectMeshMs)} ms (median / p95), ${meshStress.incompleteMeshes}/${meshStress.runs} incomplete within 300 s; online ${fmt(meshStress.navigationToOnlineMs)} ms`,
        `- dials per pair until direct: ${fmt(meshStress.dialsPerPair)} (median / p95), max ${meshStress.dialsPerPair.max}; failed dials by class: ${JSON.stringify(meshStress.dialErrorsByClass)}`,
        ''
      ]),
  ...('skipped' in nat
    ? [`### NAT traversal: skipped (${nat.skipped})`, '']
    : [
        `### NAT traversal in the internet in a box (${nat.runs} runs; ms, median / p95; links without delay)`,
        '',
        `- both tabs online → direct over reflexive candidates (two cone NATs, STUN): ${fmt(nat.srflxDirectMs)}; round trip ${fmt(nat.srflxRttMs)}`,
        `- both tabs online → direct through TURN (one tab behind a symmetric NAT): ${fmt(nat.turnDirectMs)}; round trip ${fmt(nat.turnRttMs)}`,
        `- TURN adds ${nat.turnAddedRttMs} ms to the median round trip (its relaying; the box has no distance)${nat.failures > 0 ? `; NOT direct within 120 s: ${nat.failures} pairs` : ''}`,
        ''
      ]),
  `### Relay killed (SIGKILL) and restarted (${relayRestart.tabs} tabs, ${relayRestart.restarts} restarts; ms, median / p95)`,
  '',
  `- a tab notices: ${fmt(relayRestart.noticeMs)}; the relay process listens again after ${fmt(relayRestart.relayStartMs)}`,
  `- relay listening → a tab online and re-reserved: ${fmt(relayRestart.recoveryMs)} per tab; slowest tab per restart ${fmt(relayRestart.slowestTabMs)} (max ${relayRestart.slowestTabMs.max}); within ${RECOVERY_TARGET_MS / 1000} s: ${(relayRestart.withinTargetRatio * 100).toFixed(0)} % of restarts${relayRestart.unrecovered > 0 ? `; NOT recovered: ${relayRestart.unrecovered}` : ''}`,
  '',
  `### Marketplace (${marketplace.tabs} tabs, ${marketplace.publishes} publishes; ms, median / p95)`,
  '',
  `- publish → found by search in another tab: ${fmt(marketplace.publishToFoundMs)} (found ${(marketplace.foundRatio * 100).toFixed(1)} %)${
    marketplace.publishToFoundBy != null
      ? `; by who delivered it: ${Object.entries(marketplace.publishToFoundBy)
          .map(([by, s]) => `${by} ${fmt(s)} (${s.n})`)
          .join(', ')}`
      : ''
  }`,
  `- publish() call: ${fmt(marketplace.publishCallMs)}${
    marketplace.relayEventLoop != null
      ? `; the relay's event loop over the last minute of publishes: longest delay ${marketplace.relayEventLoop.delayMaxMs ?? '?'} ms, longest held by its own code ${marketplace.relayEventLoop.busyMaxMs ?? '?'} ms`
      : ''
  }`,
  `- late joiner's first search, first result: ${fmt(marketplace.lateJoinerFirstResultMs)} (from ${
    Object.entries(marketplace.lateJoinerFirstSources ?? {})
      .map(([source, n]) => `${source} ${n}`)
      .join(', ') || 'nowhere'
  }); whole search: ${fmt(marketplace.lateJoinerSearchMs)} (found ${marketplace.lateJoinerFound}/${marketplace.lateJoiners})`,
  '',
  ...contentSummary(content),
  '### Local search (ms, median / p95)',
  '',
  ...localSearch.map(
    l =>
      `- ${l.packages} packages: text ${fmt(l.searchMs)}, tag filter ${fmt(l.filterMs)}, index build ${l.buildMs} ms (longest single add ${l.longestAddMs ?? '?'} ms${l.longestAddAt != null ? `, the ${l.longestAddAt}th` : ''}${l.gc != null ? `; ${l.gc.pauses} GC pauses, the longest ${l.gc.longestPauseMs} ms; longest add no GC pause overlapped ${l.gc.longestAddWithoutGcMs} ms` : ''})`
  ),
  '',
  `### Tracing overhead (${tracing.operations} operations per mode, Node peers; ms, median / p95)`,
  '',
  `- publish: off ${fmt(tracing.publishOffMs)}, on ${fmt(tracing.publishOnMs)} → ${tracing.publishOverheadPct} %`,
  `- search: off ${fmt(tracing.searchOffMs)}, on ${fmt(tracing.searchOnMs)} → ${tracing.searchOverheadPct} %`,
  '',
  ...simulationSummary(simulation),
  ''
]
writeFileSync(join(outDir, 'summary.md'), `# Benchmark results (${result.date})\n\n${lines.join('\n')}`)
console.log(`\n${lines.join('\n')}\nbench: wrote ${join(outDir, 'results.json')} and summary.md`)

/**
 * Times a fixed single-thread workload (a chain of 300 000 SHA-256 hashes), so runs on a
 * slower or shared machine can be told apart from changes in the code.
 */
function cpuCheckMs(): number {
  const start = performance.now()
  let digest = Buffer.alloc(32)
  for (let i = 0; i < 300_000; i++) digest = createHash('sha256').update(digest).digest()
  return Math.round(performance.now() - start)
}

/** The plain page's figures beside the app's (the network benchmark's reference), for summary.md. */
function referenceSummary(r: ReferenceFigures | undefined): string[] {
  if (r == null) return []
  const row = (
    what: string,
    c: ReferenceFigures['comparisons'][number],
    app: Summary,
    plain: Summary,
    ratio: number
  ): string => `| ${what} | ${c.tabs} | ${fmt(app)} | ${fmt(plain)} | ${ratio.toFixed(2)}× |`
  const rows: string[] = []
  for (const c of r.comparisons) {
    const app = network.find(n => n.tabs === c.tabs)
    if (app == null) continue
    const pct = (v: number): string => `${(v * 100).toFixed(1)} %`
    rows.push(
      row(
        'nav→relay connected',
        c,
        app.navigationToRelayConnectedMs,
        c.plain.navigationToRelayConnectedMs,
        c.ratios.navigationToRelayConnected
      ),
      row(
        'nav→online (reserved)',
        c,
        app.navigationToOnlineMs,
        c.plain.navigationToOnlineMs,
        c.ratios.navigationToOnline
      ),
      row(
        'nav→first direct',
        c,
        app.navigationToFirstDirectMs,
        c.plain.navigationToFirstDirectMs,
        c.ratios.navigationToFirstDirect
      ),
      row('full direct mesh', c, app.fullDirectMeshMs, c.plain.fullDirectMeshMs, c.ratios.fullDirectMesh),
      `| first-dial success | ${c.tabs} | ${pct(app.firstDialSuccessRate)} | ${pct(c.plain.firstDialSuccessRate)} | – |`,
      `| incomplete meshes | ${c.tabs} | ${app.incompleteMeshes}/${app.runs} | ${c.plain.incompleteMeshes}/${c.plain.runs} | – |`
    )
  }
  const phases = (p: Record<string, number>): string =>
    Object.entries(p)
      .map(([name, at]) => `${name} ${Math.round(at)}`)
      .join(', ')
  return [
    `### Network formation next to a plain libp2p page (same run, app and plain page alternately; ms, median / p95; load average ${r.loadAverage.start} → ${r.loadAverage.end})`,
    '',
    `The plain page: ${r.page}${r.pageGzipKB != null ? `; its JS ${r.pageGzipKB} KB gzip, all loaded at once` : ''}.`,
    '',
    '| figure | tabs | app | plain page | app / plain (medians) |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    ...r.comparisons.flatMap(c => [
      `- ${c.tabs} tabs, runs in order (mesh / relay connected / online / first direct, ms; first dials direct): ${c.rounds.map(x => `${x.kind} ${x.meshMs ?? 'INCOMPLETE'} / ${x.relayConnectedMs} / ${x.onlineMs} / ${x.firstDirectMs} (${x.firstDials})`).join('; ')}`,
      `- ${c.tabs} tabs, start-up steps (ms from navigation, median over tabs): app: ${phases(c.phasesMs.app)}; plain: ${phases(c.phasesMs.plain)}`
    ]),
    ''
  ]
}

/** The content benchmark's section of summary.md. */
function contentSummary(c: ContentFigures): string[] {
  const each = (mbps: number[]): string => mbps.join(', ')
  const b = c.bundle
  return [
    `### Package content transfer (${c.mib} MiB artifacts, ${c.rounds} rounds each; MB/s = 10^6 bytes/s, median (each round); load average ${c.loadAverage.start} → ${c.loadAverage.end})`,
    '',
    `- tab → tab over direct WebRTC (Bitswap, all from the publisher; the relay kept none): ${c.webrtc.MBps.median} MB/s (${each(c.webrtc.roundsMBps)}); first block after ${c.webrtc.firstByteMs.join(', ')} ms; the publisher's publish() ${fmt(c.webrtc.publishMs)} ms`,
    `- its ceiling, a raw RTCDataChannel between two pages (64 KiB messages, backpressure): ${c.ceilings.rtcDataChannel.MBps.median} MB/s (${each(c.ceilings.rtcDataChannel.roundsMBps)}) → libp2p at ${c.ratios.webrtcToRtcDataChannel} of it`,
    `- relay → tab over WebSockets (publisher gone, all from the relay): ${c.websockets.MBps.median} MB/s (${each(c.websockets.roundsMBps)}); first block after ${c.websockets.firstByteMs.join(', ')} ms; the relay had kept each (fetched from the publishing tab) ${c.websockets.relayKeepMs.join(', ')} ms after its publish()`,
    `- its ceiling, a raw WebSocket from Node on 127.0.0.1 to a page (64 KiB frames): ${c.ceilings.webSocket.MBps.median} MB/s (${each(c.ceilings.webSocket.roundsMBps)}) → libp2p at ${c.ratios.websocketsToWebSocket} of it`,
    `- content code lazy: Helia/Bitswap only in its own chunk: ${b.heliaOnlyInContentChunk ? 'yes' : `NO (found in ${b.heliaFoundIn.join(', ')})`}; content modules in the initial JS: ${b.contentModulesInInitial.length === 0 ? 'none' : b.contentModulesInInitial.join(', ')}; initial JS ${b.appInitialGzipKB} KB app, ${b.widgetInitialGzipKB} KB widget (gzip); the content chunk ${b.contentChunk.gzipKB} KB gzip (${b.contentChunk.KB} KB), loaded on a node's first publish or fetch with content`,
    ''
  ]
}

/** The simulation's section of summary.md. */
function simulationSummary(s: SimulationFigures): string[] {
  const pct = (r: number): string => `${(r * 100).toFixed(1)} %`
  const tail = (p: Percentiles): string => `${p.median} / ${p.p95} / ${p.p99} / ${p.max}`
  return [
    `### Simulation (${s.nodes} nodes in one Node process, memory transport; load average ${s.loadAverage.start} → ${s.loadAverage.end})`,
    '',
    `- network: started and dialled in ${s.startMs} ms, ${s.readyNodes}/${s.nodes} ready (meshes, routing tables) at ${s.readyMs} ms; ${s.connectionsPerNode.median} connections, mesh ${s.meshPeersPerNode.median}, routing table ${s.routingTablePerNode.median} per node (median)`,
    `- memory per node: ${s.memory.heapUsedPerNodeMB} MB heap, ${s.memory.rssPerNodeMB} MB RSS (${s.memory.heapUsedAfterTrafficPerNodeMB} / ${s.memory.rssAfterTrafficPerNodeMB} MB after the traffic${s.memory.gcForced ? '' : '; no GC forced'}); background CPU once ready ${s.idleCpuPct} % of one core`,
    `- gossip: ${s.gossip.publishes} announcements, delivered ${s.gossip.deliveries}/${s.gossip.expected} (${pct(s.gossip.deliveryRatio)}); latency ms median / p95 / p99 / max: ${tail(s.gossip.latencyMs)}`,
    `- DHT put: ${s.dht.stored}/${s.dht.records} stored, ${s.dht.acksPerPut.median} acknowledgements (median), ${tail(s.dht.putMs)} ms`,
    `- DHT get: ${s.dht.found}/${s.dht.lookups} found (${pct(s.dht.successRatio)}; ${s.dht.foundWithinProductionTimeout} within the nodes' 5 s timeout, ${s.dht.localHits} held by the getter), ${tail(s.dht.lookupMs)} ms`,
    `- DHT hops (shortest referral chain from the starting peers to a holder): median ${s.dht.hops.median}, max ${s.dht.hops.max}, histogram ${JSON.stringify(s.dht.hopHistogram)}; ${s.dht.peersContacted.median} peers contacted per lookup (median)`
  ]
}

// node-datachannel (WebRTC in Node) keeps native threads alive until told to clean up
const { cleanup } = await import('node-datachannel')
cleanup()
