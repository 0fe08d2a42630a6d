import { createServer } from 'node:http'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { InvalidRelayConfigError, parseHeaders } from '../../relay/config.ts'
import { Collector } from '../../relay/collector/collector.ts'
import { UpstreamForwarder, checkUpstreamHeaders, redactSecrets } from '../../relay/collector/forwarder.ts'
import { SpanStore } from '../../relay/collector/span-store.ts'
import type { AddressInfo } from 'node:net'

const SECRET = 'Bearer sk-live-4f9a2c'

describe('upstream credentials', () => {
  test('a header value with a control character is refused at start-up, naming the header only', () => {
    for (const value of [`${SECRET}\n`, `${SECRET}\r\nx: y`, `${SECRET}\u0000`, `${SECRET}€`]) {
      expect(() => checkUpstreamHeaders({ authorization: value })).toThrow(/header "authorization"/)
      expect(
        () => new UpstreamForwarder({ url: 'http://127.0.0.1:1/', headers: { authorization: value } })
      ).toThrow(/authorization/)
      let message = ''
      try {
        parseHeaders(`authorization=${encodeURIComponent(value)}`)
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidRelayConfigError)
        message = (err as Error).message
      }
      expect(message).toMatch(/OTEL_EXPORTER_OTLP_HEADERS: .*"authorization"/)
      expect(message).not.toContain('sk-live')
    }
    expect(() => parseHeaders('authorization=%E0%A4%A')).toThrow(/"authorization" is not valid URL encoding/)
    expect(() => parseHeaders('Authorization Bearer sk-live-4f9a2c')).not.toThrow(/sk-live/)
    expect(() => checkUpstreamHeaders({ authorization: SECRET, 'x-team': 'a\tb' })).not.toThrow()
  })

  test('what fetch says about a header it refuses is redacted, as are URL credentials', async () => {
    // the message undici gives for exactly the value that leaked into /healthz before
    let message = ''
    try {
      await fetch('http://127.0.0.1:1/', { headers: { authorization: `${SECRET}\nx-evil: 1` } })
    } catch (err) {
      message = String((err as Error).message)
    }
    expect(message).toContain('sk-live')
    const redacted = redactSecrets(message, { authorization: `${SECRET}\nx-evil: 1` })
    expect(redacted).not.toContain('sk-live')
    expect(redacted).toContain('[redacted]')
    expect(
      redactSecrets(
        'failed: https://user:pa55word@up.example/v1/traces?api_key=k3y-123',
        {},
        'https://user:pa55word@up.example/v1/traces?api_key=k3y-123'
      )
    ).toBe('failed: https://[redacted]:[redacted]@up.example/v1/traces?api_key=[redacted]')
    // short values are not credentials; redacting them would mangle messages
    expect(redactSecrets('HTTP 503', { 'x-n': '5' })).toBe('HTTP 503')
  })
})

const FULL = 'f'.repeat(32)
const OTHER = 'a'.repeat(32)
const rawSpan = (traceId: string, n: number, pad = 0): unknown => ({
  traceId,
  spanId: n.toString(16).padStart(16, '0'),
  name: 'publish',
  startTimeUnixNano: '1764000000000000000',
  endTimeUnixNano: '1764000000245000000',
  attributes: pad > 0 ? [{ key: 'pad', value: { stringValue: 'p'.repeat(pad) } }] : []
})
const request = (spans: unknown[]): unknown => ({
  resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 's' }, spans }] }]
})
/** `traceId:spanId` of every span in a forwarded body, in order. */
const idsIn = (body: string): string[] =>
  (
    JSON.parse(body) as {
      resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ traceId: string; spanId: string }> }> }>
    }
  ).resourceSpans.flatMap(r => r.scopeSpans.flatMap(s => s.spans.map(x => `${x.traceId}:${x.spanId}`)))
const id = (traceId: string, n: number): string => `${traceId}:${n.toString(16).padStart(16, '0')}`

describe('what goes upstream', () => {
  let collector: Collector | undefined
  const sent: string[] = []
  const start = (): Collector => {
    sent.length = 0
    // FULL is at its cap of 3 spans after the first request
    const store = new SpanStore({ maxSpans: 100, maxSpansPerTrace: 3 })
    collector = new Collector({
      store,
      forwarder: { enqueue: body => sent.push(new TextDecoder().decode(body)) },
      allowedOrigins: [],
      limits: { maxSpanBytes: 4096 }
    })
    collector.ingest(request([1, 2, 3].map(n => rawSpan(FULL, n))))
    expect(sent.map(idsIn)).toEqual([[id(FULL, 1), id(FULL, 2), id(FULL, 3)]])
    return collector
  }
  afterEach(async () => {
    await collector?.stop()
  })

  test("the relay's own spans: none the store refused (trace at its cap, already stored)", () => {
    const collector = start()
    const result = collector.ingest(request([rawSpan(FULL, 4), rawSpan(FULL, 1), rawSpan(OTHER, 1)]))
    expect(result).toMatchObject({ accepted: 1, duplicates: 1, rejected: 1 })
    expect(sent.map(idsIn)[1]).toEqual([id(OTHER, 1)])
    // nothing new: nothing sent
    collector.ingest(request([rawSpan(FULL, 5), rawSpan(OTHER, 1)]))
    expect(sent).toHaveLength(2)
  })

  test('posted spans (parsed on the worker): only those the store took, values as sent', async () => {
    const collector = start()
    const server = createServer((req, res) => {
      void collector.handle(req, res, new URL(req.url ?? '/', 'http://127.0.0.1'))
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const post = async (spans: unknown[]): Promise<unknown> => {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(request(spans))
        })
        expect(res.status).toBe(200)
        return await res.json()
      }
      // every span stored: the body goes as it came
      await post([rawSpan(OTHER, 1)])
      await vi.waitFor(() => expect(sent).toHaveLength(2))
      expect(idsIn(sent[1]!)).toEqual([id(OTHER, 1)])
      // refused for its trace's cap, already stored, new, new but over 4 KiB (refused by the parser)
      const answer = await post([
        rawSpan(FULL, 4),
        rawSpan(OTHER, 1),
        rawSpan(OTHER, 2, 100),
        rawSpan(OTHER, 3, 5000)
      ])
      expect(answer).toMatchObject({ partialSuccess: { rejectedSpans: 2 } })
      await vi.waitFor(() => expect(sent).toHaveLength(3))
      expect(idsIn(sent[2]!)).toEqual([id(OTHER, 2)])
      expect(sent[2]).toContain('p'.repeat(100))
      // a request the store took none of is not sent
      await post([rawSpan(FULL, 5), rawSpan(OTHER, 2)])
      expect(collector.stats.store.duplicates).toBe(2)
      expect(sent).toHaveLength(3)
    } finally {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  })
})
