import { PerformanceObserver } from 'node:perf_hooks'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { PackageCatalog } from '../src/core/catalog/catalog.ts'
import { signRecord } from '../src/core/package/record.ts'
import { seededRandom, summarize } from './stats.ts'
import type { Summary } from './stats.ts'

export interface LocalSearchFigures {
  packages: number
  /** Time to add every record (index + in-memory datastore), ms. */
  buildMs: number
  /**
   * The longest single add, ms: the most the index build keeps the thread at once. (A tab adds
   * records one at a time, each committed to IndexedDB before the next, so the page gets its turn
   * between any two; in Node the in-memory datastore resolves at once, so the build as a whole
   * runs without yielding and only this per-record figure means anything.)
   */
  longestAddMs: number
  /**
   * Which add that was (1-based: the catalog then held this many). At powers of two it is V8
   * growing the hash tables of the catalog's and MiniSearch's Maps, each copied whole at once.
   */
  longestAddAt: number
  /**
   * What held the thread during the build: V8's garbage-collection pauses (count and longest, ms),
   * and the longest add that no pause overlapped, i.e. the catalog's own work (ms).
   */
  gc: { pauses: number; longestPauseMs: number; longestAddWithoutGcMs: number }
  /** Latency of one ranked search, ms. */
  searchMs: Summary
  /**
   * The same by the words typed (one or two); the searches no garbage-collection pause overlapped;
   * and the slowest query, with how many documents matched it (MiniSearch scores every match
   * before it ranks them) and whether a pause overlapped it.
   */
  searchBreakdown?: {
    one: Summary
    two: Summary
    withoutGc: Summary
    slowest: { text: string; ms: number; matches: number; gc: boolean }
  }
  /** Latency of a tag-filtered listing (empty text), ms. */
  filterMs: Summary
}

const SYLLABLES = [
  'ba',
  'ko',
  'ri',
  'tu',
  'mel',
  'san',
  'dor',
  'vix',
  'lo',
  'pen',
  'gra',
  'fi',
  'zu',
  'tra',
  'nol',
  'ke',
  'sha',
  'mo',
  'ter',
  'qui'
]

/**
 * A vocabulary of 4,000 made-up words drawn with a Zipf distribution, like the
 * words of real package descriptions: a few very common, a long tail of rare.
 */
const VOCABULARY = Array.from({ length: 4000 }, (_, i) => {
  let word = ''
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) word += SYLLABLES[n % SYLLABLES.length]
  return word
})
const ZIPF = (() => {
  const weights = VOCABULARY.map((_, i) => 1 / (i + 1))
  const total = weights.reduce((a, b) => a + b, 0)
  let acc = 0
  return weights.map(w => (acc += w / total))
})()

/**
 * Fills a catalog with `count` generated packages (one real signature reused:
 * the catalog trusts what it is given, verification happens before) and times
 * local searches over it.
 */
export async function benchLocalSearch(count: number, queries = 300): Promise<LocalSearchFigures> {
  const key = await generateKeyPair('Ed25519')
  const template = await signRecord(
    { id: 'bench/template', version: '1.0.0', title: 'Template', description: 'template', license: 'MIT' },
    key
  )
  // one key publishes them all, and the largest catalog is over the default limits
  const catalog = new PackageCatalog(new MemoryDatastore(), {
    maxRecords: Infinity,
    maxRecordsPerPublisher: Infinity
  })
  await catalog.load()
  const rnd = seededRandom(42)
  const word = (): string => {
    const r = rnd()
    let lo = 0
    let hi = ZIPF.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((ZIPF[mid] ?? 1) < r) lo = mid + 1
      else hi = mid
    }
    return VOCABULARY[lo] ?? 'x'
  }
  const words = (n: number): string => Array.from({ length: n }, word).join(' ')
  // garbage-collection pauses during the build and the searches, to tell the catalog's own time from V8's
  const pauses: Array<{ start: number; end: number }> = []
  const gcObserver = new PerformanceObserver(list => {
    for (const e of list.getEntries()) pauses.push({ start: e.startTime, end: e.startTime + e.duration })
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  const adds: Array<{ start: number; end: number }> = []
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const addStarted = performance.now()
    await catalog.add(
      {
        ...template,
        id: `ns${i % 997}/pkg-${i}`,
        title: words(3),
        description: words(12),
        tags: [word(), word(), word()],
        categories: [VOCABULARY[i % 12] ?? 'misc'],
        publishedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()
      },
      'sync'
    )
    adds.push({ start: addStarted, end: performance.now() })
  }
  const buildMs = performance.now() - started
  const buildEnded = performance.now()
  const searches: Array<{ start: number; end: number; words: 'one' | 'two'; text: string; matches: number }> =
    []
  const filter: number[] = []
  for (let q = 0; q < queries; q++) {
    // what people type: content words (ranks 20-2000), not the most frequent
    // filler words of descriptions, which a real index treats as stop words
    const pick = (): string => VOCABULARY[20 + Math.floor(rnd() * 1980)] ?? 'x'
    const text = q % 2 === 0 ? pick() : `${pick()} ${pick()}`
    const start = performance.now()
    const { total } = catalog.search({ text, limit: 20 })
    searches.push({ start, end: performance.now(), words: q % 2 === 0 ? 'one' : 'two', text, matches: total })
    const t = performance.now()
    catalog.search({ text: '', tags: [pick()], limit: 20 })
    filter.push(performance.now() - t)
  }
  // the observer hears of the pauses once the thread is free
  await new Promise(resolve => setTimeout(resolve, 50))
  gcObserver.disconnect()
  const longest = (spans: Array<{ start: number; end: number }>): number =>
    spans.reduce((most, s) => Math.max(most, s.end - s.start), 0)
  const overlapsPause = (span: { start: number; end: number }): boolean =>
    pauses.some(p => p.start < span.end && p.end > span.start)
  const buildPauses = pauses.filter(p => p.start < buildEnded)
  const msOf = (list: typeof searches): number[] => list.map(s => s.end - s.start)
  const slowest = searches.reduce((most, s) => (s.end - s.start > most.end - most.start ? s : most))
  return {
    packages: count,
    buildMs: Math.round(buildMs),
    longestAddMs: Math.round(longest(adds) * 10) / 10,
    longestAddAt:
      adds.reduce((at, a, i) => (a.end - a.start > adds[at]!.end - adds[at]!.start ? i : at), 0) + 1,
    gc: {
      pauses: buildPauses.length,
      longestPauseMs: Math.round(longest(buildPauses) * 10) / 10,
      longestAddWithoutGcMs: Math.round(longest(adds.filter(a => !overlapsPause(a))) * 10) / 10
    },
    searchMs: summarize(msOf(searches)),
    searchBreakdown: {
      one: summarize(msOf(searches.filter(s => s.words === 'one'))),
      two: summarize(msOf(searches.filter(s => s.words === 'two'))),
      withoutGc: summarize(msOf(searches.filter(s => !overlapsPause(s)))),
      slowest: {
        text: slowest.text,
        ms: Math.round((slowest.end - slowest.start) * 10) / 10,
        matches: slowest.matches,
        gc: overlapsPause(slowest)
      }
    },
    filterMs: summarize(filter)
  }
}
