import { describeError } from '../../src/core/errors.ts'
import { DEFAULT_STORE_LIMITS } from './limits.ts'
import { SpanFile } from './span-file.ts'
import type { StoreLimits } from './limits.ts'
import type { AttrValue, StoredSpan, TraceSummary } from '../../src/core/telemetry/collector-api.ts'

export interface TraceQuery {
  /** Traces with a span whose `operation` attribute is this (the spec's usage examples filter on it). */
  operation?: string
  /** Traces with a span of this name (or of any of several, comma-separated). */
  name?: string
  /** Traces with a span carrying every one of these attribute values. */
  attributes?: Record<string, string>
  /** Traces with a span that links to the span with this id (e.g. the gossip deliveries of an announcement). */
  linkedTo?: string
  limit?: number
}

/** Bounds default to `DEFAULT_STORE_LIMITS` (see `limits.ts`). */
export interface SpanStoreInit extends Partial<StoreLimits> {
  /** NDJSON file the spans persist in; omitted = memory only. */
  file?: string
}

/** Spans newly stored together, with their JSON (one line each): subscribers serialise nothing again. */
export interface SpanBatch {
  spans: StoredSpan[]
  lines: string[]
}

/** What `add` did with each span it was given. */
export interface AddResult {
  added: number
  /** Already stored (same trace and span id): neither stored nor persisted again. */
  duplicates: number
  /** Their trace is at its cap (`maxSpansPerTrace`, `maxTraceBytes`). */
  rejected: number
  /** Where the added spans are in the array given (ascending): what is worth forwarding upstream. */
  addedIndices: number[]
}

export interface SpanStoreStats {
  spans: number
  traces: number
  /** Stored spans as JSON, bytes. */
  bytes: number
  /** Size of `traces.ndjson`. */
  fileBytes: number
  duplicates: number
  rejected: number
}

interface Trace {
  spans: StoredSpan[]
  bytes: number
}

/**
 * The embedded collector's storage: a bounded (spans and bytes, per trace and
 * in all), persistent, queryable set of spans grouped by trace, with live
 * subscribers. A span already stored is recognised in O(1) and ignored.
 */
export class SpanStore {
  private readonly traces = new Map<string, Trace>()
  /** traceId + spanId of every stored span. */
  private readonly ids = new Set<string>()
  private readonly listeners = new Set<(batch: SpanBatch) => void>()
  readonly limits: StoreLimits
  private readonly file?: SpanFile
  private count = 0
  private bytes = 0
  private duplicates = 0
  private rejected = 0

  constructor(init: SpanStoreInit = {}) {
    const { file, ...limits } = init
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits }
    const { maxSpans, maxBytes, maxSpansPerTrace, maxTraceBytes } = this.limits
    // one trace at its cap must fit with room to spare, or it would evict every other
    if (maxSpansPerTrace > maxSpans / 2 || maxTraceBytes > maxBytes / 2)
      throw new RangeError('a trace may take at most half of the store (maxSpansPerTrace, maxTraceBytes)')
    if (file != null)
      this.file = new SpanFile(
        { path: file, maxFileBytes: Math.max(this.limits.maxFileBytes, maxBytes), maxLoadBytes: maxBytes },
        () => this.spans()
      )
  }

  get size(): number {
    return this.count
  }

  get stats(): SpanStoreStats {
    return {
      spans: this.count,
      traces: this.traces.size,
      bytes: this.bytes,
      fileBytes: this.file?.bytes ?? 0,
      duplicates: this.duplicates,
      rejected: this.rejected
    }
  }

  /** Reads the persisted spans: the newest `maxBytes` of the file, within the store's bounds. */
  async load(): Promise<void> {
    if (this.file == null) return
    const spans: StoredSpan[] = []
    const lines: string[] = []
    for await (const { span, line } of this.file.read()) {
      spans.push(span)
      lines.push(line)
      if (spans.length >= 1000) this.insert(spans.splice(0), lines.splice(0))
    }
    this.insert(spans, lines)
    // counters describe what clients sent, not what an older file held twice
    this.duplicates = 0
    this.rejected = 0
    this.file.compactIfOver()
  }

  /**
   * Stores spans that are new (with their JSON lines when the caller has them),
   * persists them, evicts the oldest traces beyond the bounds and notifies subscribers.
   */
  add(spans: StoredSpan[], lines?: string[]): AddResult {
    const before = { duplicates: this.duplicates, rejected: this.rejected }
    const addedIndices: number[] = []
    const batch = this.insert(spans, lines ?? [], addedIndices)
    const result = {
      added: batch.spans.length,
      duplicates: this.duplicates - before.duplicates,
      rejected: this.rejected - before.rejected,
      addedIndices
    }
    if (batch.spans.length === 0) return result
    this.file?.append(batch.lines)
    for (const listener of this.listeners) {
      try {
        listener(batch)
      } catch (err) {
        // a broken subscriber must not break ingestion, but what it missed is said
        console.error(`collector: a subscriber missed ${batch.spans.length} spans: ${describeError(err)}`)
      }
    }
    return result
  }

  subscribe(listener: (batch: SpanBatch) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  trace(traceId: string): StoredSpan[] | undefined {
    const trace = this.traces.get(traceId.toLowerCase())
    return trace == null
      ? undefined
      : [...trace.spans].sort((a, b) => compareNanos(a.startTimeUnixNano, b.startTimeUnixNano))
  }

  /** Newest traces first that match the query. */
  query(query: TraceQuery = {}): TraceSummary[] {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 1000)
    const names = query.name == null ? undefined : new Set(query.name.split(','))
    const matches = (span: StoredSpan): boolean =>
      (query.operation == null || span.attributes.operation === query.operation) &&
      (names == null || names.has(span.name)) &&
      Object.entries(query.attributes ?? {}).every(([k, v]) => attrEquals(span.attributes[k], v)) &&
      (query.linkedTo == null || span.links.some(l => l.spanId === query.linkedTo))
    const out: TraceSummary[] = []
    for (const { spans } of [...this.traces.values()].reverse()) {
      if (!spans.some(matches)) continue
      out.push(summarize(spans))
      if (out.length >= limit) break
    }
    return out
  }

  /** Every span (oldest trace first), optionally only those of one name: for aggregate views. */
  spans(name?: string): StoredSpan[] {
    const all: StoredSpan[] = []
    for (const { spans } of this.traces.values())
      for (const s of spans) if (name == null || s.name === name) all.push(s)
    return all
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    await this.file?.flush()
  }

  /** Stores what is new and fits, evicts beyond the bounds; the index of each span stored goes to `indices`. */
  private insert(spans: StoredSpan[], lines: string[], indices?: number[]): SpanBatch {
    const batch: SpanBatch = { spans: [], lines: [] }
    spans.forEach((span, i) => {
      const key = span.traceId + span.spanId
      if (this.ids.has(key)) {
        this.duplicates++
        return
      }
      const line = lines[i] ?? JSON.stringify(span)
      const size = Buffer.byteLength(line)
      let trace = this.traces.get(span.traceId)
      if (
        (trace?.spans.length ?? 0) >= this.limits.maxSpansPerTrace ||
        (trace?.bytes ?? 0) + size > this.limits.maxTraceBytes
      ) {
        // the trace is full: it keeps what it has, and every other trace stays
        this.rejected++
        return
      }
      if (trace == null) this.traces.set(span.traceId, (trace = { spans: [], bytes: 0 }))
      trace.spans.push(span)
      trace.bytes += size
      this.ids.add(key)
      this.count++
      this.bytes += size
      batch.spans.push(span)
      batch.lines.push(line)
      indices?.push(i)
    })
    // Map keeps insertion order: the first traces are the oldest
    for (const [traceId, trace] of this.traces) {
      if (this.count <= this.limits.maxSpans && this.bytes <= this.limits.maxBytes) break
      this.traces.delete(traceId)
      for (const s of trace.spans) this.ids.delete(s.traceId + s.spanId)
      this.count -= trace.spans.length
      this.bytes -= trace.bytes
    }
    return batch
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
