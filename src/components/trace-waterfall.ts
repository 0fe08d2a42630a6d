import { shortPeer } from './provenance.ts'
import type { StoredSpan } from '../core/telemetry/collector-api.ts'

/** A span event placed on the trace's time axis. */
export interface WaterfallEvent {
  name: string
  offsetMs: number
}

/** One line of the waterfall: a span, how deep it nests and when it starts in the trace. */
export interface WaterfallRow {
  span: StoredSpan
  depth: number
  offsetMs: number
  critical: boolean
  /** Index of the span's peer in `Waterfall.peers` (its colour). */
  peer: number
  /** The parent span is in this trace but was recorded by another peer (an answer to its request). */
  remoteParent: boolean
  events: WaterfallEvent[]
}

/** A trace's spans in waterfall order, on a time axis `totalMs` long. */
export interface Waterfall {
  rows: WaterfallRow[]
  totalMs: number
  /** The peers that recorded spans, in order of their first span. */
  peers: string[]
}

/** A span's peer as the panel names it: the app's short id, or "unknown" for none. */
export const peerName = (peer: string): string => (peer === '' ? 'unknown' : shortPeer(peer))

/** The peer that recorded a span (its `service.instance.id`), or ''. */
export function peerOf(span: StoredSpan): string {
  const peer = span.resource['service.instance.id']
  return typeof peer === 'string' ? peer : ''
}

/** Orders spans depth-first under their parents and marks the critical path (the child that ends last, recursively). */
export function waterfall(spans: StoredSpan[]): Waterfall {
  const nanos = (s: StoredSpan): bigint => BigInt(s.startTimeUnixNano)
  const start = spans.reduce((min, s) => (nanos(s) < min ? nanos(s) : min), nanos(spans[0]!))
  const byId = new Map(spans.map(s => [s.spanId, s]))
  const children = new Map<string, StoredSpan[]>()
  const roots: StoredSpan[] = []
  for (const s of spans) {
    if (s.parentSpanId != null && byId.has(s.parentSpanId))
      children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s])
    else roots.push(s)
  }
  const sinceStart = (unixNano: string): number => Number(BigInt(unixNano) - start) / 1e6
  const offset = (s: StoredSpan): number => sinceStart(s.startTimeUnixNano)
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
  const peers: string[] = []
  const peerIndex = (s: StoredSpan): number => {
    const peer = peerOf(s)
    const at = peers.indexOf(peer)
    return at >= 0 ? at : peers.push(peer) - 1
  }
  const rows: WaterfallRow[] = []
  const walk = (s: StoredSpan, depth: number): void => {
    const parent = s.parentSpanId != null ? byId.get(s.parentSpanId) : undefined
    rows.push({
      span: s,
      depth,
      offsetMs: offset(s),
      critical: false,
      peer: peerIndex(s),
      remoteParent: parent != null && peerOf(parent) !== peerOf(s),
      events: s.events.map(e => ({ name: e.name, offsetMs: sinceStart(e.timeUnixNano) }))
    })
    for (const c of (children.get(s.spanId) ?? []).sort((a, b) => offset(a) - offset(b))) walk(c, depth + 1)
  }
  roots.sort((a, b) => offset(a) - offset(b))
  if (roots[0] != null) mark(roots.reduce((a, b) => (end(b) - offset(b) > end(a) - offset(a) ? b : a)))
  for (const r of roots) walk(r, 0)
  for (const row of rows) row.critical = critical.has(row.span.spanId)
  const totalMs = Math.max(1e-3, ...spans.map(end))
  return { rows, totalMs, peers }
}

/**
 * Ticks for a time axis from 0 to `totalMs`: multiples of a round step (1, 2 or 5 × 10^n ms),
 * at most `maxTicks` of them after 0.
 */
export function axisTicks(totalMs: number, maxTicks = 5): number[] {
  if (!(totalMs > 0)) return [0]
  const rough = totalMs / Math.max(1, maxTicks)
  const power = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= rough) ?? 10 * power
  const ticks: number[] = []
  for (let i = 0; i * step <= totalMs * (1 + 1e-9); i++) ticks.push(i * step)
  return ticks
}

/** A duration as people read it on a time axis: "850 µs", "12.3 ms", "1.25 s". */
export function durationText(ms: number): string {
  if (ms === 0) return '0'
  if (ms < 1) return `${Math.round(ms * 1000)} µs`
  if (ms < 100) return `${Number(ms.toFixed(1))} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  return `${Number((ms / 1000).toFixed(2))} s`
}
