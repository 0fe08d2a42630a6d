/**
 * `npm run bench`: measures the marketplace in Debian's Chromium on this
 * machine, prints the figures and writes them as JSON under bench/results/.
 * `--smoke` runs each benchmark once, tiny, to prove it still works (part of
 * `npm test`); its results go to test-results/ and assert nothing about speed.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { benchNetwork } from './network.ts'
import type { NetworkFigures } from './network.ts'

const smoke = process.argv.includes('--smoke')
const outDir = smoke ? join('test-results', 'bench-smoke') : join('bench', 'results')

console.log('bench: building the web app…')
const { build } = await import('vite')
await build({ logLevel: 'warn' })

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run'
  ]
})

const plan: Array<[tabs: number, runs: number]> = smoke
  ? [[2, 1]]
  : [
      [2, 5],
      [6, 3]
    ]
const network: NetworkFigures[] = []
try {
  for (const [tabs, runs] of plan) {
    console.log(`bench: network formation, ${tabs} tabs × ${runs} runs`)
    network.push(await benchNetwork(browser, tabs, runs))
  }
} finally {
  await browser.close()
}

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
  network
}

mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'network.json'), JSON.stringify(result, null, 2) + '\n')

const fmt = (s: { median: number; p95: number }): string => `${s.median} / ${s.p95}`
console.log('\nnetwork formation (ms, median / p95)')
console.log(
  '| tabs | nav→relay connected | nav→online | nav→first direct | full direct mesh | first-dial success | incomplete |'
)
console.log('|---|---|---|---|---|---|---|')
for (const f of network) {
  console.log(
    `| ${f.tabs} | ${fmt(f.navigationToRelayConnectedMs)} | ${fmt(f.navigationToOnlineMs)} | ${fmt(f.navigationToFirstDirectMs)} | ${fmt(f.fullDirectMeshMs)} | ${(f.firstDialSuccessRate * 100).toFixed(1)} % | ${f.incompleteMeshes}/${f.runs} |`
  )
}
console.log(`\nbench: wrote ${join(outDir, 'network.json')}`)
