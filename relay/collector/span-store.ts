import { createReadStream } from 'node:fs'
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'
import type { AttrValue, StoredSpan, TraceSummary } from '../../src/core/telemetry/collector-api.ts'

export interface TraceQuery {
  /** Traces with a span whose `operation` attribute is this (the spec's usage examples filter on it). */
  operation?: string
  /** Traces with a span of this name (or of any of several, comma-separated). */
  name?: string
  /** Traces with a span carrying every one of these attribute values. */
  attributes?: Record<string, string>
  limit?: number
}

export interface SpanStoreInit {
  /** NDJSON file the spans persist in; omitted = memory only. */
  file?: string
  /** Spans kept; the oldest traces go first. @default 20000 */
  maxSpans?: number
}

/**
 * The embedded collector's storage: a bounded, persistent, queryable set of
 * spans grouped by trace, with live subscribers (server-sent events).
 */
export class SpanStore {
  private readonly traces = new Map<string, StoredSpan[]>()
  private readonly listeners = new Set<(spans: StoredSpan[]) => void>()
  private readonly file?: string
  private readonly maxSpans: number
  private count = 0
  private linesInFile = 0
  private writing: Promise<void> = Promise.resolve()

  constructor(init: SpanStoreInit = {}) {
    this.file = init.file
    this.maxSpans = init.maxSpans ?? 20_000
  }

  get size(): number {
    return this.count
  }

  /** Reads the persisted spans (the newest `maxSpans`). */
  async load(): Promise<void> {
    if (this.file == null) return
    await mkdir(dirname(this.file), { recursive: true })
    const spans: StoredSpan[] = []
    try {
      const lines = createInterface({ input: createReadStream(this.file), crlfDelay: Infinity })
      for await (const line of lines) {
        if (line.trim() === '') continue
        try {
          spans.push(JSON.parse(line) as StoredSpan)
        } catch {
          // a torn last line after a crash: skip it
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    this.linesInFile = spans.length
    this.insert(spans.slice(-this.maxSpans))
  }

  /** Adds spans, persists them, evicts the oldest traces beyond the bound, and notifies subscribers. */
  add(spans: StoredSpan[]): void {
    if (spans.length === 0) return
    this.insert(spans)
    this.persist(spans)
    for (const listener of this.listeners) {
      try {
        listener(spans)
      } catch {
        // a broken subscriber must not break ingestion
      }
    }
  }

  subscribe(listener: (spans: StoredSpan[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  trace(traceId: string): StoredSpan[] | undefined {
    const spans = this.traces.get(traceId.toLowerCase())
    return spans == null
      ? undefined
      : [...spans].sort((a, b) => compareNanos(a.startTimeUnixNano, b.startTimeUnixNano))
  }

  /** Newest traces first that match the query. */
  query(query: TraceQuery = {}): TraceSummary[] {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 1000)
    const names = query.name == null ? undefined : new Set(query.name.split(','))
    const matches = (span: StoredSpan): boolean =>
      (query.operation == null || span.attributes.operation === query.operation) &&
      (names == null || names.has(span.name)) &&
      Object.entries(query.attributes ?? {}).every(([k, v]) => attrEquals(span.attributes[k], v))
    const out: TraceSummary[] = []
    for (const spans of [...this.traces.values()].reverse()) {
      if (!spans.some(matches)) continue
      out.push(summarize(spans))
      if (out.length >= limit) break
    }
    return out
  }

  /** Every span (oldest trace first), optionally only those of one name: for aggregate views. */
  spans(name?: string): StoredSpan[] {
    const all: StoredSpan[] = []
    for (const spans of this.traces.values())
      for (const s of spans) if (name == null || s.name === name) all.push(s)
    return all
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    await this.writing
  }

  private insert(spans: StoredSpan[]): void {
    for (const span of spans) {
      const existing = this.traces.get(span.traceId)
      if (existing == null) {
        this.traces.set(span.traceId, [span])
      } else {
        if (existing.some(s => s.spanId === span.spanId)) continue
        existing.push(span)
      }
      this.count++
    }
    // Map keeps insertion order: the first traces are the oldest
    for (const [traceId, trace] of this.traces) {
      if (this.count <= this.maxSpans) break
      this.traces.delete(traceId)
      this.count -= trace.length
    }
  }

  private persist(spans: StoredSpan[]): void {
    const file = this.file
    if (file == null) return
    this.writing = this.writing
      .then(async () => {
        await appendFile(file, spans.map(s => JSON.stringify(s)).join('\n') + '\n')
        this.linesInFile += spans.length
        if (this.linesInFile > this.maxSpans * 2) {
          // compact: rewrite only what is kept
          const kept = [...this.traces.values()].flat()
          await writeFile(`${file}.tmp`, kept.map(s => JSON.stringify(s)).join('\n') + '\n')
          await rename(`${file}.tmp`, file)
          this.linesInFile = kept.length
        }
      })
      .catch((err: unknown) => {
        console.error(`collector: could not persist spans: ${String(err)}`)
      })
  }
}

function attrEquals(actual: AttrValue | undefined, wanted: string): boolean {
  if (actual == null) return false
  if (Array.isArray(actual)) return actual.map(String).includes(wanted)
  return String(actual) === wanted
}

function compareNanos(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0
}

function summarize(spans: StoredSpan[]): TraceSummary {
  const ids = new Set(spans.map(s => s.spanId))
  const root =
    spans.find(s => s.parentSpanId == null) ?? spans.find(s => !ids.has(s.parentSpanId ?? '')) ?? spans[0]!
  let start = root.startTimeUnixNano
  let end = root.endTimeUnixNano
  for (const s of spans) {
    if (compareNanos(s.startTimeUnixNano, start) < 0) start = s.startTimeUnixNano
    if (compareNanos(s.endTimeUnixNano, end) > 0) end = s.endTimeUnixNano
  }
  const operation = root.attributes.operation
  return {
    traceId: root.traceId,
    name: root.name,
    ...(typeof operation === 'string' ? { operation } : {}),
    startTimeUnixNano: start,
    durationMs: Number(BigInt(end) - BigInt(start)) / 1e6,
    spanCount: spans.length,
    peers: [
      ...new Set(
        spans.map(s => s.resource['service.instance.id']).filter((p): p is string => typeof p === 'string')
      )
    ],
    error: spans.some(s => s.status.code === 2)
  }
}
