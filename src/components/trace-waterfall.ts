import type { StoredSpan } from '../core/telemetry/collector-api.ts'

/** One line of the waterfall: a span, how deep it nests and when it starts in the trace. */
export interface WaterfallRow {
  span: StoredSpan
  depth: number
  offsetMs: number
  critical: boolean
}

/** A trace's spans in waterfall order, on a time axis `totalMs` long. */
export interface Waterfall {
  rows: WaterfallRow[]
  totalMs: number
}

/** The peer that recorded a span (its `service.instance.id`), or ''. */
export function peerOf(span: StoredSpan): string {
  const peer = span.resource['service.instance.id']
  return typeof peer === 'string' ? peer : ''
}

/** Orders spans depth-first under their parents and marks the critical path (the child that ends last, recursively). */
export function waterfall(spans: StoredSpan[]): Waterfall {
  const nanos = (s: StoredSpan): bigint => BigInt(s.startTimeUnixNano)
  const start = spans.reduce((min, s) => (nanos(s) < min ? nanos(s) : min), nanos(spans[0]!))
  const ids = new Set(spans.map(s => s.spanId))
  const children = new Map<string, StoredSpan[]>()
  const roots: StoredSpan[] = []
  for (const s of spans) {
    if (s.parentSpanId != null && ids.has(s.parentSpanId))
      children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s])
    else roots.push(s)
  }
  const offset = (s: StoredSpan): number => Number(nanos(s) - start) / 1e6
  const end = (s: StoredSpan): number => offset(s) + s.durationMs
  const critical = new Set<string>()
  const mark = (s: StoredSpan): void => {
    critical.add(s.spanId)
    const kids = children.get(s.spanId) ?? []
    const last = kids.reduce<StoredSpan | undefined>(
      (a, b) => (a == null || end(b) > end(a) ? b : a),
      undefined
    )
    if (last != null) mark(last)
  }
  const rows: WaterfallRow[] = []
  const walk = (s: StoredSpan, depth: number): void => {
    rows.push({ span: s, depth, offsetMs: offset(s), critical: false })
    for (const c of (children.get(s.spanId) ?? []).sort((a, b) => offset(a) - offset(b))) walk(c, depth + 1)
  }
  roots.sort((a, b) => offset(a) - offset(b))
  if (roots[0] != null) mark(roots.reduce((a, b) => (end(b) - offset(b) > end(a) - offset(a) ? b : a)))
  for (const r of roots) walk(r, 0)
  for (const row of rows) row.critical = critical.has(row.span.spanId)
  const totalMs = Math.max(1e-3, ...spans.map(end))
  return { rows, totalMs }
}
