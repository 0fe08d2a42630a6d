/**
 * `npm run bench`: measures the marketplace in Debian's Chromium and in Node on
 * this machine, prints the figures and writes them as JSON under bench/results/.
 * `--smoke` runs each benchmark once, tiny, to prove it still works (part of
 * `npm test`); its results go to test-results/ and assert nothing about speed.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { CHROMIUM_LAUNCH } from '../test/helpers/chromium.ts'
import { benchLocalSearch } from './local-search.ts'
import { benchMarketplace } from './marketplace.ts'
import { benchNetwork } from './network.ts'
import { benchTracingOverhead } from './tracing-overhead.ts'
import { benchUi } from './ui.ts'
import type { UiFigures } from './ui.ts'
import type { LocalSearchFigures } from './local-search.ts'
import type { MarketplaceFigures } from './marketplace.ts'
import type { NetworkFigures } from './network.ts'
import type { TracingOverheadFigures } from './tracing-overhead.ts'
import type { Summary } from './stats.ts'

const smoke = process.argv.includes('--smoke')
const outDir = smoke ? join('test-results', 'bench-smoke') : join('bench', 'results')
const scale = smoke
  ? {
      network: [[2, 1]],
      tabs: 2,
      publishes: 2,
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
      tabs: 6,
      publishes: 12,
      lateJoiners: 3,
      catalogs: [10_000, 100_000],
      queries: 300,
      tracedOperations: 60,
      uiRuns: 5
    }

console.log('bench: building the web app…')
const { build } = await import('vite')
await build({ logLevel: 'warn' })

const browser = await chromium.launch(CHROMIUM_LAUNCH)
const network: NetworkFigures[] = []
let marketplace: MarketplaceFigures
let ui: UiFigures
try {
  console.log(`bench: app and widget load, ${scale.uiRuns} cold visits each`)
  ui = await benchUi(browser, scale.uiRuns)
  for (const [tabs = 2, runs = 1] of scale.network) {
    console.log(`bench: network formation, ${tabs} tabs × ${runs} runs`)
    network.push(await benchNetwork(browser, tabs, runs))
  }
  console.log(
    `bench: publish → found, ${scale.tabs} tabs, ${scale.publishes} publishes, ${scale.lateJoiners} late joiners`
  )
  marketplace = await benchMarketplace(browser, scale.tabs, scale.publishes, scale.lateJoiners)
} finally {
  await browser.close()
}

const localSearch: LocalSearchFigures[] = []
for (const count of scale.catalogs) {
  console.log(`bench: local search over ${count} packages`)
  localSearch.push(await benchLocalSearch(count, scale.queries))
}

console.log(`bench: tracing overhead, ${scale.tracedOperations} publishes and searches per mode`)
const tracing: TracingOverheadFigures = await benchTracingOverhead(scale.tracedOperations)

const result = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    browser: browser.version()
  },
  smoke,
  ui,
  network,
  marketplace,
  localSearch,
  tracing
}
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'results.json'), JSON.stringify(result, null, 2) + '\n')

const fmt = (s: Summary): string => `${s.median} / ${s.p95}`
const lines = [
  `### Web app and widget (${ui.runs} cold visits; ms from navigation, median / p95)`,
  '',
  `- app JS, gzip: ${ui.app.initialGzipKB} KB initial, ${ui.app.lazyGzipKB} KB lazy (libp2p only in the lazy part: ${ui.app.libp2pOnlyLazy ? 'yes' : 'NO'})`,
  `- app: first paint ${fmt(ui.app.firstPaintMs)}, shell ready ${fmt(ui.app.shellReadyMs)}, time to interactive ${fmt(ui.app.timeToInteractiveMs)}, online ${fmt(ui.app.onlineMs)}`,
  `- widget JS, gzip: ${ui.widget.initialGzipKB} KB initial (aim < 60), ${ui.widget.lazyGzipKB} KB lazy (libp2p only in the lazy part: ${ui.widget.libp2pOnlyLazy ? 'yes' : 'NO'})`,
  `- widget on another origin's page: first render ${fmt(ui.widget.firstRenderMs)}, online ${fmt(ui.widget.onlineMs)}`,
  '',
  '### Network formation (ms, median / p95)',
  '',
  '| tabs | nav→relay connected | nav→online | nav→first direct | full direct mesh | first-dial success | incomplete |',
  '|---|---|---|---|---|---|---|',
  ...network.map(
    f =>
      `| ${f.tabs} | ${fmt(f.navigationToRelayConnectedMs)} | ${fmt(f.navigationToOnlineMs)} | ${fmt(f.navigationToFirstDirectMs)} | ${fmt(f.fullDirectMeshMs)} | ${(f.firstDialSuccessRate * 100).toFixed(1)} % | ${f.incompleteMeshes}/${f.runs} |`
  ),
  '',
  `### Marketplace (${marketplace.tabs} tabs, ${marketplace.publishes} publishes; ms, median / p95)`,
  '',
  `- publish → found by search in another tab: ${fmt(marketplace.publishToFoundMs)} (found ${(marketplace.foundRatio * 100).toFixed(1)} %)`,
  `- publish() call: ${fmt(marketplace.publishCallMs)}`,
  `- late joiner's first search: ${fmt(marketplace.lateJoinerSearchMs)} (found ${marketplace.lateJoinerFound}/${marketplace.lateJoiners})`,
  '',
  '### Local search (ms, median / p95)',
  '',
  ...localSearch.map(
    l =>
      `- ${l.packages} packages: text ${fmt(l.searchMs)}, tag filter ${fmt(l.filterMs)}, index build ${l.buildMs} ms`
  ),
  '',
  `### Tracing overhead (${tracing.operations} operations per mode, Node peers; ms, median / p95)`,
  '',
  `- publish: off ${fmt(tracing.publishOffMs)}, on ${fmt(tracing.publishOnMs)} → ${tracing.publishOverheadPct} %`,
  `- search: off ${fmt(tracing.searchOffMs)}, on ${fmt(tracing.searchOnMs)} → ${tracing.searchOverheadPct} %`,
  ''
]
writeFileSync(join(outDir, 'summary.md'), `# Benchmark results (${result.date})\n\n${lines.join('\n')}`)
console.log(`\n${lines.join('\n')}\nbench: wrote ${join(outDir, 'results.json')} and summary.md`)

// node-datachannel (WebRTC in Node) keeps native threads alive until told to clean up
const { cleanup } = await import('node-datachannel')
cleanup()
