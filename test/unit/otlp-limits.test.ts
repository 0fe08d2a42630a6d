import { describe, expect, test } from 'vitest'
import { DEFAULT_REQUEST_LIMITS } from '../../relay/collector/limits.ts'
import { readOtlpJson } from '../../relay/collector/otlp-json.ts'

const kv = (key: string, value: string): unknown => ({ key, value: { stringValue: value } })
const rawSpan = (i: number, attributes: unknown[] = []): unknown => ({
  traceId: 'ab'.repeat(16),
  spanId: i.toString(16).padStart(16, '0'),
  name: 'publish',
  startTimeUnixNano: '1764000000000000000',
  endTimeUnixNano: '1764000000245000000',
  attributes
})
const request = (spans: unknown[], resource: unknown[] = []): unknown => ({
  resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ scope: { name: 's' }, spans }] }]
})
const limits = { ...DEFAULT_REQUEST_LIMITS }

describe('OTLP request limits', () => {
  test('spans beyond the per-request cap are rejected unread, and the rest kept', () => {
    const spans = Array.from({ length: 50 }, (_, i) => rawSpan(i + 1))
    // a malformed span past the cap is never looked at
    spans.push({ traceId: 'nope' })
    const parsed = readOtlpJson(request(spans), { ...limits, maxSpansPerRequest: 20 })
    expect(parsed.spans).toHaveLength(20)
    expect(parsed.lines).toHaveLength(20)
    expect(parsed.rejected).toBe(31)
    expect(parsed.warnings.join()).toMatch(/beyond 20 per request/)
    // what is forwarded upstream is what was kept
    const kept = parsed.kept as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> }
    expect(kept.resourceSpans[0]!.scopeSpans[0]!.spans).toHaveLength(20)
  })

  test('attributes beyond the cap are dropped and long values cut, with a warning and no rejection', () => {
    const attributes = Array.from({ length: 200 }, (_, i) => kv(`k${i}`, 'v'.repeat(i === 0 ? 10_000 : 3)))
    const parsed = readOtlpJson(request([rawSpan(1, attributes)]), limits)
    expect(parsed.rejected).toBe(0)
    const span = parsed.spans[0]!
    expect(Object.keys(span.attributes)).toHaveLength(128)
    expect(span.attributes.k0).toHaveLength(4096)
    expect(parsed.warnings.join('; ')).toMatch(/attributes beyond 128.*dropped.*|cut/)
    expect(JSON.parse(parsed.lines[0]!)).toEqual(span)
  })

  test('a resource copied into every span cannot make one request store more than its cap', () => {
    // 60 attributes of 4 KiB: ~245 KB of resource, sent once, stored with each span
    const resource = Array.from({ length: 60 }, (_, i) => kv(`r${i}`, 'x'.repeat(4096)))
    const spans = Array.from({ length: 100 }, (_, i) => rawSpan(i + 1))
    const big = readOtlpJson(request(spans, resource), limits)
    expect(big.spans).toHaveLength(0)
    expect(big.rejected).toBe(100)
    expect(big.warnings.join()).toMatch(/over 65536 bytes/)
    const capped = readOtlpJson(request(spans, resource.slice(0, 10)), {
      ...limits,
      maxRequestStoredBytes: 1024 * 1024
    })
    // ~41 KB per stored span: 25 fit in 1 MiB
    expect(capped.spans.length).toBeGreaterThan(20)
    expect(capped.spans.length).toBeLessThan(30)
    expect(capped.rejected).toBe(100 - capped.spans.length)
    expect(capped.lines.reduce((n, l) => n + l.length, 0)).toBeLessThanOrEqual(1024 * 1024)
  })

  test('deeply nested values and giant integers do not exhaust the stack or the CPU', () => {
    let value: unknown = { stringValue: 'leaf' }
    for (let i = 0; i < 10_000; i++) value = { kvlistValue: { values: [{ key: 'k', value }] } }
    const parsed = readOtlpJson(request([rawSpan(1, [{ key: 'deep', value }])]), limits)
    expect(typeof parsed.spans[0]!.attributes.deep).toBe('string')
    const huge = { ...(rawSpan(2) as object), startTimeUnixNano: '9'.repeat(100_000) }
    expect(() => readOtlpJson(request([huge]), limits)).toThrow(/startTimeUnixNano must be an integer/)
  })
})
