import { describe, expect, test } from 'vitest'
import { parseQuery } from '../../relay/collector/collector-http.ts'
import { HttpError } from '../../relay/collector/errors.ts'
import { parseOtlpJson } from '../../relay/collector/otlp-json.ts'
import { SpanStore } from '../../relay/collector/span-store.ts'
import { axisTicks, durationText, waterfall } from '../../src/components/trace-waterfall.ts'
import { toOtlpJson } from '../../src/core/telemetry/otlp-export.ts'
import type { StoredSpan } from '../../src/core/telemetry/collector-api.ts'

const T0 = 1_764_000_000_000_000_000n
const TRACE = 'a'.repeat(32)

/** A span of `TRACE` recorded by `peer`, `startMs`..`endMs` after T0. */
function span(
  id: string,
  peer: string,
  startMs: number,
  endMs: number,
  extra: Partial<StoredSpan> = {}
): StoredSpan {
  return {
    traceId: TRACE,
    spanId: id.padStart(16, '0'),
    name: `span_${id}`,
    kind: 1,
    startTimeUnixNano: String(T0 + BigInt(startMs * 1e6)),
    endTimeUnixNano: String(T0 + BigInt(endMs * 1e6)),
    durationMs: endMs - startMs,
    attributes: {},
    status: { code: 0 },
    links: [],
    events: [],
    resource: { 'service.instance.id': peer, 'service.name': 'p2p-marketplace' },
    scope: 'p2p-marketplace',
    receivedAt: 0,
    ...extra
  }
}

describe('trace waterfall', () => {
  // a search on peer A whose query (2) is answered by peer B (3), with an event on the root
  const spans = [
    span('3', 'B', 5, 9, { parentSpanId: '2'.padStart(16, '0') }),
    span('1', 'A', 0, 20, {
      events: [{ name: 'results', timeUnixNano: String(T0 + 12_000_000n), attributes: {} }]
    }),
    span('2', 'A', 2, 15, { parentSpanId: '1'.padStart(16, '0') })
  ]

  test('nests the spans, colours them by peer in order of appearance and marks answers from another peer', () => {
    const view = waterfall(spans)
    expect(view.rows.map(r => [r.span.name, r.depth, r.peer, r.remoteParent])).toEqual([
      ['span_1', 0, 0, false],
      ['span_2', 1, 0, false],
      ['span_3', 2, 1, true]
    ])
    expect(view.peers).toEqual(['A', 'B'])
    expect(view.totalMs).toBe(20)
    expect(view.rows.every(r => r.critical)).toBe(true)
  })

  test('places span events on the time axis', () => {
    expect(waterfall(spans).rows[0]!.events).toEqual([{ name: 'results', offsetMs: 12 }])
  })

  test('ticks at round steps that cover the trace', () => {
    expect(axisTicks(20)).toEqual([0, 5, 10, 15, 20])
    expect(axisTicks(1234)).toEqual([0, 500, 1000])
    expect(axisTicks(0.3, 3)).toEqual([0, 0.1, 0.2, 0.30000000000000004])
    expect(axisTicks(0)).toEqual([0])
    for (const total of [0.7, 3, 47, 999, 18_500]) {
      const ticks = axisTicks(total)
      expect(ticks.length).toBeGreaterThanOrEqual(2)
      expect(ticks.length).toBeLessThanOrEqual(6)
      expect(ticks.at(-1)!).toBeLessThanOrEqual(total * (1 + 1e-9))
    }
  })

  test('writes durations at the scale people read them', () => {
    expect([0.25, 3.14159, 42, 850, 1250].map(durationText)).toEqual([
      '250 µs',
      '3.1 ms',
      '42 ms',
      '850 ms',
      '1.25 s'
    ])
  })
})

describe('a trace exported as OTLP JSON', () => {
  test('is read back by the collector as the same spans', () => {
    const stored = [
      span('1', 'A', 0, 20, {
        attributes: { operation: 'p2p_search', local_results: 3, ratio: 0.5, ok: true, tags: ['a', 'b'] },
        status: { code: 2, message: 'failed' },
        events: [{ name: 'results', timeUnixNano: String(T0 + 1_000_000n), attributes: { count: 2 } }],
        links: [{ traceId: 'b'.repeat(32), spanId: 'c'.repeat(16) }]
      }),
      span('2', 'B', 3, 4, { parentSpanId: '1'.padStart(16, '0'), kind: 2 })
    ]
    const body = JSON.parse(JSON.stringify(toOtlpJson(stored))) as { resourceSpans: unknown[] }
    expect(body.resourceSpans).toHaveLength(2) // one per peer's resource
    const strip = ({ receivedAt: _, ...s }: StoredSpan): Omit<StoredSpan, 'receivedAt'> => s
    expect(parseOtlpJson(body).map(strip)).toEqual(stored.map(strip))
  })
})

describe('collector query by link', () => {
  test('finds the traces with a span that links to a given span', () => {
    const store = new SpanStore()
    const announce = span('1', 'A', 0, 5, { name: 'announce_package' })
    const delivery = (trace: string, id: string): StoredSpan => ({
      ...span(id, 'B', 1, 2, { name: 'receive_package_announcement' }),
      traceId: trace,
      links: [{ traceId: TRACE, spanId: announce.spanId }]
    })
    store.add([announce, delivery('b'.repeat(32), '2'), delivery('c'.repeat(32), '3')])
    store.add([{ ...span('4', 'C', 0, 1), traceId: 'd'.repeat(32) }])
    const found = store.query({ linkedTo: announce.spanId })
    expect(found.map(t => t.traceId).sort()).toEqual(['b'.repeat(32), 'c'.repeat(32)])
  })

  test('refuses a link filter that is not a span id', () => {
    expect(parseQuery(new URL(`http://x/api/traces?linkedTo=${'e'.repeat(16)}`))).toMatchObject({
      linkedTo: 'e'.repeat(16)
    })
    expect(() => parseQuery(new URL('http://x/api/traces?linkedTo=zz'))).toThrow(HttpError)
  })
})
