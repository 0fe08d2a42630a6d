/**
 * `npm run bench`: measures the marketplace in Debian's Chromium and in Node on
 * this machine, prints the figures and writes them as JSON under bench/results/.
 * `--smoke` runs each benchmark once, tiny, to prove it still works (part of
 * `npm test`); its results go to test-results/ and assert nothing about speed, only that every
 * breakdown is there and every search found its package (smoke-check.ts).
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
import { benchRelayRestart } from './relay-restart.ts'
import { benchSimulation } from './simulation.ts'
import { benchTracingOverhead } from './tracing-overhead.ts'
import { benchUi } from './ui.ts'
import { missingFigures } from './smoke-check.ts'
import { summaryLines } from './summary.ts'
import type { BenchResult } from './summary.ts'
import type { UiFigures } from './ui.ts'
import type { ContentFigures } from './content.ts'
import type { LocalSearchFigures } from './local-search.ts'
import type { MarketplaceFigures } from './marketplace.ts'
import type { NatResult } from './nat.ts'
import type { NetworkFigures } from './network.ts'
import type { ReferenceFigures } from './reference.ts'
import type { RelayRestartFigures } from './relay-restart.ts'
import type { SimulationFigures } from './simulation.ts'
import type { TracingOverheadFigures } from './tracing-overhead.ts'

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
      // 50 000: the most a tab's catalog holds (DEFAULT_CATALOG_LIMITS); 100 000: the issue's figure
      catalogs: [10_000, 50_000, 100_000],
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

const result: BenchResult = {
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

const lines = summaryLines(result)
writeFileSync(join(outDir, 'summary.md'), `# Benchmark results (${result.date})\n\n${lines.join('\n')}`)
console.log(`\n${lines.join('\n')}\nbench: wrote ${join(outDir, 'results.json')} and summary.md`)
// a full run says so too, but only the smoke fails on it (a full run's figures are worth keeping)
const missing = missingFigures(result)
if (missing.length > 0) {
  console.error(`bench: missing from this run:\n${missing.map(m => `- ${m}`).join('\n')}`)
  if (smoke) process.exitCode = 1
}

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

// node-datachannel (WebRTC in Node) keeps native threads alive until told to clean up
const { cleanup } = await import('node-datachannel')
cleanup()
