import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { SpanFile } from '../../relay/collector/span-file.ts'
import { SpanStore } from '../../relay/collector/span-store.ts'
import type { StoredSpan } from '../../src/core/telemetry/collector-api.ts'

/** A stored span of trace `t` (a small number), span `s`; `pad` characters of attribute make it bigger. */
function span(t: number, s: number, pad = 0): StoredSpan {
  return {
    traceId: t.toString(16).padStart(32, '0'),
    spanId: s.toString(16).padStart(16, '0'),
    name: 'publish',
    kind: 1,
    startTimeUnixNano: String(1_764_000_000_000_000_000n + BigInt(s)),
    endTimeUnixNano: String(1_764_000_000_100_000_000n + BigInt(s)),
    durationMs: 100,
    attributes: { operation: 'publish', pad: 'x'.repeat(pad) },
    status: { code: 1 },
    links: [],
    events: [],
    resource: { 'service.instance.id': 'peer' },
    scope: 'p2p-marketplace',
    receivedAt: 1_764_000_000_000
  }
}
const trace = (t: number, n: number, pad = 0, from = 0): StoredSpan[] =>
  Array.from({ length: n }, (_, i) => span(t, from + i + 1, pad))
const traceIdOf = (t: number): string => t.toString(16).padStart(32, '0')

describe('span store subscribers', () => {
  test('a subscriber that throws neither stops the store nor the others, and what it missed is logged', () => {
    const store = new SpanStore()
    const seen: number[] = []
    store.subscribe(() => {
      throw new Error('boom')
    })
    store.subscribe(batch => seen.push(batch.spans.length))
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      expect(store.add(trace(1, 3))).toMatchObject({ added: 3 })
      expect(store.size).toBe(3)
      expect(seen).toEqual([3])
      expect(logged).toHaveBeenCalledWith('collector: a subscriber missed 3 spans: boom')
    } finally {
      logged.mockRestore()
    }
  })
})

describe('span store bounds', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-store-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test('a span stored again is recognised: not stored, notified or persisted twice', async () => {
    const file = join(dir, 'traces.ndjson')
    const store = new SpanStore({ file })
    const batches: number[] = []
    store.subscribe(batch => batches.push(batch.spans.length))
    expect(store.add(trace(1, 3))).toMatchObject({ added: 3, duplicates: 0, rejected: 0 })
    await store.flush()
    const size = (await stat(file)).size
    for (let i = 0; i < 10; i++)
      expect(store.add(trace(1, 3))).toEqual({ added: 0, duplicates: 3, rejected: 0, addedIndices: [] })
    // duplicates inside one batch, and mixed with a new span
    expect(store.add([span(1, 9), span(1, 9), span(1, 1)])).toEqual({
      added: 1,
      duplicates: 2,
      rejected: 0,
      addedIndices: [0]
    })
    await store.flush()
    expect(store.size).toBe(4)
    expect(batches).toEqual([3, 1])
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(4)
    expect((await stat(file)).size).toBeLessThan(size * 2)
  })

  test('a span stored before a restart is known after it: stored and persisted once', async () => {
    const file = join(dir, 'traces.ndjson')
    const first = new SpanStore({ file })
    await first.load()
    first.add(trace(1, 3))
    await first.flush()
    const size = (await stat(file)).size
    // the relay restarts over the same DATA_DIR, and a client sends the same spans again
    const again = new SpanStore({ file })
    await again.load()
    for (let i = 0; i < 10; i++) {
      expect(again.add(trace(1, 3))).toMatchObject({ added: 0, duplicates: 3 })
      expect(again.add([span(1, 2)])).toMatchObject({ added: 0, duplicates: 1 })
    }
    await again.flush()
    expect((await stat(file)).size).toBe(size)
    expect(again.size).toBe(3)
    expect(again.trace(traceIdOf(1))).toHaveLength(3)
    expect(again.stats.duplicates).toBe(40)
  })

  test('the span that starts exactly where start-up begins to read is loaded, and known', async () => {
    const file = join(dir, 'traces.ndjson')
    const lines = Array.from({ length: 10 }, (_, t) => JSON.stringify(span(t + 1, 1)))
    const line = Buffer.byteLength(lines[0]!) + 1
    await writeFile(file, lines.join('\n') + '\n')
    // the newest 4 lines, to the byte: the read starts on a line's first byte
    const store = new SpanStore({ file, maxBytes: 4 * line, maxTraceBytes: 2 * line })
    await store.load()
    expect(store.size).toBe(4)
    expect(store.add([span(7, 1)])).toMatchObject({ added: 0, duplicates: 1 })
    expect(store.trace(traceIdOf(6))).toBeUndefined()
  })

  test('a trace over its cap is cut, and every other trace stays', () => {
    const store = new SpanStore({ maxSpans: 100, maxSpansPerTrace: 10 })
    store.add(trace(1, 5))
    store.add(trace(2, 5))
    // the old store evicted every other trace to make room for this one
    expect(store.add(trace(3, 40))).toMatchObject({ added: 10, duplicates: 0, rejected: 30 })
    expect(store.trace(traceIdOf(1))).toHaveLength(5)
    expect(store.trace(traceIdOf(2))).toHaveLength(5)
    expect(store.trace(traceIdOf(3))).toHaveLength(10)
    expect(store.add(trace(3, 1, 0, 100)).rejected).toBe(1)
  })

  test('bounded in bytes: the oldest traces go, the newest stays, within maxBytes', () => {
    const store = new SpanStore({ maxBytes: 64 * 1024, maxTraceBytes: 16 * 1024 })
    for (let t = 1; t <= 50; t++) store.add(trace(t, 4, 1000))
    const { bytes, traces } = store.stats
    expect(bytes).toBeLessThanOrEqual(64 * 1024)
    expect(traces).toBeGreaterThan(10)
    expect(store.trace(traceIdOf(1))).toBeUndefined()
    expect(store.trace(traceIdOf(50))).toHaveLength(4)
    // a trace at its byte cap is cut: 16 KiB holds 12 of these ~1.3 KB spans, not 40
    expect(store.add(trace(60, 40, 1000)).rejected).toBeGreaterThan(25)
    expect(store.trace(traceIdOf(49))).toHaveLength(4)
  })

  test('a trace may not be configured to take more than half of the store', () => {
    expect(() => new SpanStore({ maxSpans: 100, maxSpansPerTrace: 80 })).toThrow(RangeError)
  })

  test('traces.ndjson is compacted once over its bound, and reloads to the same content', async () => {
    const file = join(dir, 'traces.ndjson')
    const limits = { maxBytes: 64 * 1024, maxTraceBytes: 16 * 1024, maxFileBytes: 128 * 1024 }
    const store = new SpanStore({ file, ...limits })
    for (let t = 1; t <= 200; t++) {
      store.add(trace(t, 2, 1000))
      if (t % 20 === 0) await store.flush()
    }
    await store.flush()
    const size = (await stat(file)).size
    expect(size).toBeLessThanOrEqual(128 * 1024)
    expect(store.stats.fileBytes).toBe(size)
    const again = new SpanStore({ file, ...limits })
    await again.load()
    expect(again.trace(traceIdOf(200))).toHaveLength(2)
    expect(again.stats.bytes).toBeLessThanOrEqual(64 * 1024)
  })

  test('traces.ndjson never passes its bound, not even between an append and a compaction', async () => {
    const file = join(dir, 'traces.ndjson')
    const store = new SpanStore({
      file,
      maxBytes: 64 * 1024,
      maxTraceBytes: 16 * 1024,
      maxFileBytes: 128 * 1024
    })
    // what the file holds, seen between any two steps of the writes
    let largest = 0
    let watching = true
    const watch = (): void => {
      largest = Math.max(largest, store.stats.fileBytes)
      if (watching) setImmediate(watch)
    }
    watch()
    try {
      for (let t = 1; t <= 40; t++) {
        // batches of ~40 KB: appending one to a file near its bound would pass it
        store.add([...trace(2 * t, 12, 1500), ...trace(2 * t + 1, 12, 1500)])
        await store.flush()
      }
    } finally {
      watching = false
    }
    expect(store.stats.fileBytes).toBe((await stat(file)).size)
    expect(largest).toBeGreaterThan(100 * 1024)
    expect(largest).toBeLessThanOrEqual(128 * 1024)
  })

  test('start-up reads only the newest maxBytes of an oversized file, then compacts it', async () => {
    const file = join(dir, 'traces.ndjson')
    // 2 MiB written by an older relay without bounds, plus a torn and a foreign line
    const lines: string[] = []
    for (let t = 1; t <= 1500; t++) lines.push(JSON.stringify(span(t, 1, 1200)))
    lines.splice(700, 0, '{"traceId":"not a span"}', '{"torn":')
    await writeFile(file, lines.join('\n') + '\n')
    expect((await stat(file)).size).toBeGreaterThan(2_000_000)
    const store = new SpanStore({
      file,
      maxBytes: 256 * 1024,
      maxTraceBytes: 16 * 1024,
      maxFileBytes: 512 * 1024
    })
    await store.load()
    expect(store.trace(traceIdOf(1500))).toHaveLength(1)
    expect(store.trace(traceIdOf(1))).toBeUndefined()
    expect(store.stats.bytes).toBeLessThanOrEqual(256 * 1024)
    // ~190 spans of ~1.35 KB fit in 256 KiB: the newest ones, nothing older read first
    expect(store.size).toBeGreaterThan(150)
    expect(store.size).toBeLessThan(200)
    await store.flush()
    expect((await stat(file)).size).toBeLessThanOrEqual(256 * 1024)
  })
})

describe('span file bounds', () => {
  test('what waits to be written is counted in UTF-8 bytes, as it is written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mp-span-file-'))
    try {
      const file = new SpanFile(
        { path: join(dir, 'traces.ndjson'), maxFileBytes: 1 << 20, maxLoadBytes: 1000 },
        () => []
      )
      // 401 UTF-16 code units, 1 202 bytes with its newline: over the 1 000 bytes that may wait
      file.append([`"${'€'.repeat(399)}"`])
      expect(file.droppedLines).toBe(1)
      file.append(['"fits"'])
      await file.flush()
      expect(file.droppedLines).toBe(1)
      expect(await readFile(join(dir, 'traces.ndjson'), 'utf8')).toBe('"fits"\n')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
