/**
 * Where a tab's start-up CPU goes, the app beside the plain libp2p page: for each run, one tab of
 * each on a fresh relay, a CDP CPU profile from navigation until the relay is connected, and its
 * self time grouped by package (through the source maps of both builds). `npm run bench:startup
 * [-- runs]` prints the table and writes `bench/results/startup-profile.json`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { SourceMapConsumer } from 'source-map-js'
import { CHROMIUM_LAUNCH } from '../test/helpers/chromium.ts'
import { prepareReference } from './reference.ts'
import { withRelaySession } from './relay-session.ts'
import type { Page } from 'playwright-core'

interface ProfileNode {
  id: number
  callFrame: { url: string; functionName: string; lineNumber: number; columnNumber: number }
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}
type Kind = 'app' | 'plain'

const runs = Number(process.argv[2] ?? 3)
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  console.error('bench:startup: the number of runs is an integer from 1 to 20')
  process.exit(2)
}

/** Which package (or our own folder) a source of a source map belongs to. */
function packageOf(source: string | null): string {
  if (source == null) return '(unmapped)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)
  if (pkg != null) return pkg[1]!
  return source
    .replace(/^.*?\/(src|bench)\//, '$1/')
    .split('/')
    .slice(0, 3)
    .join('/')
}

/** Self time (ms) of one profile by package; V8's own entries ("(program)", GC, idle) as they are. */
function selfTimeByPackage(profile: Profile, mapFor: (url: string) => SourceMapConsumer | undefined) {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const out: Record<string, number> = {}
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame
    let key: string
    if (!frame.url.startsWith('http'))
      // V8's own entries come named "(program)" (native work: parsing, compiling, style, layout,
      // paint), "(garbage collector)", "(idle)"; a browser API called from JS by its own name
      key = frame.functionName.startsWith('(') ? frame.functionName : `(${frame.functionName || 'native'})`
    else {
      const map = mapFor(frame.url)
      key =
        map == null
          ? new URL(frame.url).pathname
          : packageOf(
              map.originalPositionFor({ line: frame.lineNumber + 1, column: frame.columnNumber }).source
            )
    }
    out[key] = (out[key] ?? 0) + micros / 1000
  }
  return out
}

/** Profiles `page` from navigation to `url` until its node says the relay is connected. */
async function profileStartUp(
  page: Page,
  url: string,
  kind: Kind
): Promise<{ profile: Profile; ms: number }> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await cdp.send('Profiler.start')
  const started = Date.now()
  await page.goto(url)
  await page.waitForFunction(
    k =>
      (k === 'app'
        ? window.p2pMarketplace?.timings.relayConnectedAt
        : window.p2pReference?.timings.relayConnectedAt) != null,
    kind,
    { timeout: 60_000 }
  )
  const ms = Date.now() - started
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: Profile }
  await cdp.detach()
  return { profile, ms }
}

console.log('bench:startup: building the web app and the plain page…')
const { build } = await import('vite')
await build({ logLevel: 'warn' })
const { staticDir, remove } = await prepareReference()
const maps = new Map<string, SourceMapConsumer | undefined>()
const mapFor = (url: string): SourceMapConsumer | undefined => {
  if (!maps.has(url)) {
    const file = join(staticDir, new URL(url).pathname) + '.map'
    maps.set(
      url,
      existsSync(file) ? new SourceMapConsumer(JSON.parse(readFileSync(file, 'utf8')) as never) : undefined
    )
  }
  return maps.get(url)
}
const totals: Record<Kind, Record<string, number>> = { app: {}, plain: {} }
const wallMs: Record<Kind, number[]> = { app: [], plain: [] }
const browser = await chromium.launch(CHROMIUM_LAUNCH)
try {
  for (let run = 0; run < runs; run++) {
    for (const kind of ['app', 'plain'] as const) {
      await withRelaySession(
        browser,
        async ({ relay, openTab }) => {
          const url = kind === 'app' ? relay.url : `${relay.url}/reference/`
          const { profile, ms } = await profileStartUp(await openTab(), url, kind)
          wallMs[kind].push(ms)
          for (const [key, t] of Object.entries(selfTimeByPackage(profile, mapFor)))
            totals[kind][key] = (totals[kind][key] ?? 0) + t
          console.log(`  run ${run + 1}/${runs}, ${kind}: relay connected after ${ms} ms`)
        },
        { STATIC_DIR: staticDir }
      )
    }
  }
} finally {
  await browser.close()
  remove()
}

const perRun = (kind: Kind, key: string): number => Math.round(((totals[kind][key] ?? 0) / runs) * 10) / 10
const keys = [...new Set([...Object.keys(totals.app), ...Object.keys(totals.plain)])]
  .filter(k => k !== '(idle)')
  .sort((a, b) => perRun('app', b) - perRun('plain', b) - (perRun('app', a) - perRun('plain', a)))
const rows = keys.map(key => ({ key, app: perRun('app', key), plain: perRun('plain', key) }))
const busy = (kind: Kind): number => Math.round(rows.reduce((sum, r) => sum + r[kind], 0))
console.log(
  `\nCPU from navigation to relay connected, one tab, ms per run (mean of ${runs}); busy: app ${busy('app')}, plain ${busy('plain')}; wall: app ${wallMs.app.join(', ')}, plain ${wallMs.plain.join(', ')}\n`
)
console.log('| self time in | app | plain page | app − plain |\n| --- | --- | --- | --- |')
for (const r of rows.filter(r => Math.max(r.app, r.plain) >= 5))
  console.log(`| ${r.key} | ${r.app} | ${r.plain} | ${Math.round((r.app - r.plain) * 10) / 10} |`)
writeFileSync(
  join('bench', 'results', 'startup-profile.json'),
  `${JSON.stringify({ date: new Date().toISOString(), runs, wallMs, busyMs: { app: busy('app'), plain: busy('plain') }, selfMs: rows }, null, 2)}\n`
)
console.log('\nbench:startup: wrote bench/results/startup-profile.json')
