/**
 * summary.md: the figures of one `npm run bench` (results.json) as text, each beside what it is
 * measured against.
 */
import { RECOVERY_TARGET_MS } from './relay-restart.ts'
import type { ContentFigures } from './content.ts'
import type { LocalSearchFigures } from './local-search.ts'
import type { MarketplaceFigures } from './marketplace.ts'
import type { NatResult } from './nat.ts'
import type { NetworkFigures } from './network.ts'
import type { ReferenceFigures } from './reference.ts'
import type { RelayRestartFigures } from './relay-restart.ts'
import type { Percentiles, SimulationFigures } from './simulation.ts'
import type { Summary } from './stats.ts'
import type { TracingOverheadFigures } from './tracing-overhead.ts'
import type { UiFigures } from './ui.ts'

/** What `npm run bench` writes to results.json. */
export interface BenchResult {
  date: string
  machine: {
    cpus: number
    cpuModel?: string
    memoryGiB: number
    node: string
    browser: string
    cpuCheckMs: { start: number; end: number }
  }
  smoke: boolean
  ui: UiFigures
  network: NetworkFigures[]
  reference?: ReferenceFigures
  meshStress?: NetworkFigures
  nat: NatResult
  relayRestart: RelayRestartFigures
  marketplace: MarketplaceFigures
  content: ContentFigures
  localSearch: LocalSearchFigures[]
  tracing: TracingOverheadFigures
  simulation: SimulationFigures
}

const fmt = (s: Summary): string => `${s.median} / ${s.p95}`

/** The lines of summary.md after its title. */
export function summaryLines(result: BenchResult): string[] {
  const { ui, network, reference, meshStress, nat, relayRestart, marketplace, content, localSearch } = result
  const { tracing, simulation } = result
  return [
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
    ...referenceSummary(reference, network),
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
    ...(marketplace.publishToFoundStages != null
      ? [
          `- where a delivery's time went (spans): signed and stored by the publisher ${fmt(marketplace.publishToFoundStages.signAndStore)} → gossip hop and the receiver's validation ${fmt(marketplace.publishToFoundStages.deliver)} → stored by the receiver ${fmt(marketplace.publishToFoundStages.store)}`
        ]
      : []),
    `- publish() call: ${fmt(marketplace.publishCallMs)}${
      marketplace.relayEventLoop != null
        ? `; the relay's event loop over the last minute of publishes: longest delay ${marketplace.relayEventLoop.delayMaxMs ?? '?'} ms, longest held by its own code ${marketplace.relayEventLoop.busyMaxMs ?? '?'} ms`
        : ''
    }${
      marketplace.dhtPut != null
        ? `; its store_in_dht: ${fmt(marketplace.dhtPut.put)}, the lookup's first answer after ${fmt(marketplace.dhtPut.firstLookupAnswer)}, the last acknowledgement after ${fmt(marketplace.dhtPut.lastAcknowledged)}`
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
        `- ${l.packages} packages: text ${fmt(l.searchMs)}, tag filter ${fmt(l.filterMs)}, index build ${l.buildMs} ms (longest single add ${l.longestAddMs ?? '?'} ms${l.longestAddAt != null ? `, the ${l.longestAddAt}th` : ''}${l.gc != null ? `; ${l.gc.pauses} GC pauses, the longest ${l.gc.longestPauseMs} ms; longest add no GC pause overlapped ${l.gc.longestAddWithoutGcMs} ms` : ''})${l.searchBreakdown != null ? `; text by words typed: one ${fmt(l.searchBreakdown.one)}, two ${fmt(l.searchBreakdown.two)}; the ${l.searchBreakdown.withoutGc.n} no GC pause overlapped ${fmt(l.searchBreakdown.withoutGc)}; slowest "${l.searchBreakdown.slowest.text}" ${l.searchBreakdown.slowest.ms} ms, ${l.searchBreakdown.slowest.matches} documents matched${l.searchBreakdown.slowest.gc ? ', a GC pause in it' : ''}` : ''}`
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
}

/** The plain page's figures beside the app's (the network benchmark's reference), for summary.md. */
function referenceSummary(r: ReferenceFigures | undefined, network: NetworkFigures[]): string[] {
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
