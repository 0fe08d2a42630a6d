/**
 * Where a tab's start-up CPU goes, the app beside the plain libp2p page: for each run, on a fresh
 * relay for each, a tab loaded with a CDP CPU profile from navigation until the relay is connected
 * (its self time grouped by package through the source maps of both builds), then another with a
 * trace of its main thread (the native work the profile calls "(program)": style, layout, paint,
 * module evaluation), and the scripts loaded by then, by package. `npm run bench:startup
 * [-- runs]` prints the tables and writes `bench/results/startup-profile.json`.
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

interface TraceEvent {
  name: string
  ph: string
  pid: number
  tid: number
  ts: number
  dur?: number
  args?: { name?: string }
}

/**
 * Self time (ms) by trace event on the tab's renderer main thread: what the profile's "(program)"
 * holds, named (`v8.compile`, `ParseHTML`, `UpdateLayoutTree`, `Layout`, `Paint`, …). Complete
 * events nest; each keeps the time none of its children took.
 */
function mainThreadSelfTime(trace: Buffer): Record<string, number> {
  const events = (JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents
  const mains = new Set(
    events
      .filter(e => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map(e => `${e.pid}:${e.tid}`)
  )
  // the tab's main thread: the renderer main thread that did the most
  const byThread = new Map<string, TraceEvent[]>()
  for (const e of events) {
    const thread = `${e.pid}:${e.tid}`
    if (e.ph !== 'X' || e.dur == null || !mains.has(thread)) continue
    const list = byThread.get(thread)
    if (list == null) byThread.set(thread, [e])
    else list.push(e)
  }
  const total = (list: TraceEvent[]): number => list.reduce((sum, e) => sum + (e.dur ?? 0), 0)
  const main = [...byThread.values()].sort((a, b) => total(b) - total(a))[0] ?? []
  main.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0))
  const out: Record<string, number> = {}
  const stack: Array<{ name: string; end: number }> = []
  for (const e of main) {
    while (stack.length > 0 && stack[stack.length - 1]!.end <= e.ts) stack.pop()
    const parent = stack[stack.length - 1]
    if (parent != null) out[parent.name] = (out[parent.name] ?? 0) - (e.dur ?? 0) / 1000
    out[e.name] = (out[e.name] ?? 0) + (e.dur ?? 0) / 1000
    stack.push({ name: e.name, end: e.ts + (e.dur ?? 0) })
  }
  return out
}

/**
 * Loads `url` in `page` until its node says the relay is connected, recording either a CPU profile
 * or a trace of the main thread (apart: the trace's recording slows the tab); what it took, and
 * which scripts it loaded.
 */
async function startUp(
  page: Page,
  url: string,
  kind: Kind,
  record: 'profile' | 'trace'
): Promise<{ profile?: Profile; trace?: Record<string, number>; scripts: string[]; ms: number }> {
  const browser = page.context().browser()!
  const cdp = await page.context().newCDPSession(page)
  if (record === 'trace') await browser.startTracing(page, { categories: ['devtools.timeline'] })
  else {
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
    await cdp.send('Profiler.start')
  }
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
  const scripts = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map(e => e.name)
      .filter(name => new URL(name).pathname.endsWith('.js'))
  )
  if (record === 'trace') return { trace: mainThreadSelfTime(await browser.stopTracing()), scripts, ms }
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: Profile }
  await cdp.detach()
  return { profile, scripts, ms }
}

/**
 * The bytes of a built script by package, through its source map: each mapping's generated
 * text (to the next mapping, or the line's end) counts for its source's package.
 */
function bytesByPackage(file: string, map: SourceMapConsumer): Record<string, number> {
  const lines = readFileSync(file, 'utf8').split('\n')
  const out: Record<string, number> = {}
  const add = (key: string, n: number): void => {
    if (n > 0) out[key] = (out[key] ?? 0) + n
  }
  let line = 0
  let column = 0
  let source: string | null = null
  const upTo = (toLine: number, toColumn: number): void => {
    // what lies between the last mapping and this one belongs to the last mapping's source
    for (; line < toLine; line++, column = 0) add(packageOf(source), (lines[line]?.length ?? 0) - column + 1)
    add(packageOf(source), toColumn - column)
    column = toColumn
  }
  map.eachMapping(m => {
    upTo(m.generatedLine - 1, m.generatedColumn)
    source = m.source
  })
  upTo(lines.length - 1, lines[lines.length - 1]?.length ?? 0)
  return out
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
const traceTotals: Record<Kind, Record<string, number>> = { app: {}, plain: {} }
const wallMs: Record<Kind, number[]> = { app: [], plain: [] }
const bytes: Record<Kind, Record<string, number>> = { app: {}, plain: {} }
const browser = await chromium.launch(CHROMIUM_LAUNCH)
try {
  for (let run = 0; run < runs; run++) {
    for (const kind of ['app', 'plain'] as const) {
      await withRelaySession(
        browser,
        async ({ relay, openTab }) => {
          const url = kind === 'app' ? relay.url : `${relay.url}/reference/`
          const profiled = await openTab()
          const { profile, scripts, ms } = await startUp(profiled, url, kind, 'profile')
          await profiled.context().close()
          wallMs[kind].push(ms)
          // the scripts loaded by then, by package (the same every run: counted once per run)
          for (const script of scripts) {
            const map = mapFor(script)
            const file = join(staticDir, new URL(script).pathname)
            if (map == null || !existsSync(file)) continue
            for (const [key, n] of Object.entries(bytesByPackage(file, map)))
              bytes[kind][key] = (bytes[kind][key] ?? 0) + n / 1000
          }
          for (const [key, t] of Object.entries(selfTimeByPackage(profile!, mapFor)))
            totals[kind][key] = (totals[kind][key] ?? 0) + t
          // then a tab of its own, traced, on the same relay
          const { trace } = await startUp(await openTab(), url, kind, 'trace')
          for (const [key, t] of Object.entries(trace!))
            traceTotals[kind][key] = (traceTotals[kind][key] ?? 0) + t
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

/** Rows of a per-key table (mean per run, ms), the largest difference first. */
function table(of: Record<Kind, Record<string, number>>): Array<{ key: string; app: number; plain: number }> {
  const perRun = (kind: Kind, key: string): number => Math.round(((of[kind][key] ?? 0) / runs) * 10) / 10
  return [...new Set([...Object.keys(of.app), ...Object.keys(of.plain)])]
    .filter(k => k !== '(idle)')
    .map(key => ({ key, app: perRun('app', key), plain: perRun('plain', key) }))
    .sort((a, b) => b.app - b.plain - (a.app - a.plain))
}
const print = (title: string, rows: Array<{ key: string; app: number; plain: number }>): void => {
  console.log(`| ${title} | app | plain page | app − plain |\n| --- | --- | --- | --- |`)
  for (const r of rows.filter(r => Math.max(r.app, r.plain) >= 5))
    console.log(`| ${r.key} | ${r.app} | ${r.plain} | ${Math.round((r.app - r.plain) * 10) / 10} |`)
}
const rows = table(totals)
const mainThread = table(traceTotals)
const busy = (kind: Kind): number => Math.round(rows.reduce((sum, r) => sum + r[kind], 0))
console.log(
  `\nCPU from navigation to relay connected, one tab, ms per run (mean of ${runs}); busy: app ${busy('app')}, plain ${busy('plain')}; wall: app ${wallMs.app.join(', ')}, plain ${wallMs.plain.join(', ')}\n`
)
print('self time in', rows)
console.log('\nThe main thread by trace event (self time; what "(program)" above is made of):\n')
print('trace event', mainThread)
const scriptKB = table(bytes)
const kb = (kind: Kind): number => Math.round(scriptKB.reduce((sum, r) => sum + r[kind], 0))
console.log(
  `\nThe scripts loaded by relay connected, by package (KB of built JS, not compressed): app ${kb('app')}, plain ${kb('plain')}\n`
)
print('KB of', scriptKB)
writeFileSync(
  join('bench', 'results', 'startup-profile.json'),
  `${JSON.stringify({ date: new Date().toISOString(), runs, wallMs, busyMs: { app: busy('app'), plain: busy('plain') }, selfMs: rows, mainThreadSelfMs: mainThread, scriptKB: { app: kb('app'), plain: kb('plain'), byPackage: scriptKB } }, null, 2)}\n`
)
console.log('\nbench:startup: wrote bench/results/startup-profile.json')
