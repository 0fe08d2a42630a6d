/**
 * OTLP/HTTP protobuf at a real relay's collector: what the official OpenTelemetry JS protobuf
 * exporter sends, and bodies encoded from the official protos, are stored as the JSON path
 * stores them and answered in protobuf; bad bodies are refused with a reason.
 */
import { gzipSync } from 'node:zlib'
import { SpanStatusCode, context, trace } from '@opentelemetry/api'
import { ExportResultCode } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { officialProtos, otlpJson, toProtobuf } from '../helpers/otlp-bodies.ts'
import { startTestRelay } from '../helpers/relay.ts'
import type { StoredSpan } from '../../src/core/telemetry/collector-api.ts'
import type { Relay } from '../../relay/relay.ts'
import type { ExportResult } from '@opentelemetry/core'

type Compression = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>['compression']

let relay: Relay
let cleanup: () => Promise<void>
const PROTOBUF = { 'Content-Type': 'application/x-protobuf' }

beforeAll(async () => {
  ;({ relay, cleanup } = await startTestRelay())
})
afterAll(async () => {
  await cleanup()
})

const post = async (body: BodyInit, headers: Record<string, string> = PROTOBUF): Promise<Response> =>
  await fetch(`${relay.httpUrl}/v1/traces`, { method: 'POST', headers, body })
const spansOf = async (traceId: string): Promise<StoredSpan[]> => {
  const res = await fetch(`${relay.httpUrl}/api/traces/${traceId}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { spans: StoredSpan[] }).spans
}
/** What a stored span says, less what differs between two posts of it (ids, arrival). */
const content = (span: StoredSpan): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(span).filter(([key]) => !['traceId', 'spanId', 'parentSpanId', 'receivedAt'].includes(key))
  )
const statusOf = async (res: Response): Promise<{ code?: number; message?: string }> =>
  officialProtos().status.toObject(officialProtos().status.decode(new Uint8Array(await res.arrayBuffer())))

describe('OTLP/HTTP protobuf', () => {
  test.each([
    ['plain', undefined],
    ['gzip', 'gzip' as Compression]
  ])(
    'spans the official protobuf exporter sends (%s) are queryable through /api/traces',
    async (_how, compression) => {
      const memory = new InMemorySpanExporter()
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({
          'service.name': 'proto-test',
          'service.instance.id': '12D3KooWproto'
        }),
        spanProcessors: [new SimpleSpanProcessor(memory)]
      })
      const tracer = provider.getTracer('p2p-marketplace')
      const text = `protobuf ${compression ?? 'plain'}`
      const search = tracer.startSpan('search', {
        attributes: {
          operation: 'p2p_search',
          query_text: text,
          total_results: 3,
          ratio: 0.5,
          tags: ['a', 'b']
        }
      })
      const query = tracer.startSpan(
        'dht_peer_query',
        { attributes: { ok: false } },
        trace.setSpan(context.active(), search)
      )
      query.addEvent('answered', { peers: 2 })
      query.setStatus({ code: SpanStatusCode.ERROR, message: 'peer timed out' })
      query.end()
      search.end()
      const exporter = new OTLPTraceExporter({
        url: `${relay.httpUrl}/v1/traces`,
        ...(compression != null ? { compression } : {})
      })
      const result = await new Promise<ExportResult>(resolve =>
        exporter.export(memory.getFinishedSpans(), resolve)
      )
      expect(result.error).toBeUndefined()
      expect(result.code).toBe(ExportResultCode.SUCCESS)
      await exporter.shutdown()

      const found = (await (
        await fetch(
          `${relay.httpUrl}/api/traces?operation=p2p_search&attr.query_text=${encodeURIComponent(text)}`
        )
      ).json()) as { traces: Array<{ traceId: string; peers: string[] }> }
      const traceId = search.spanContext().traceId
      expect(found.traces).toEqual([expect.objectContaining({ traceId, peers: ['12D3KooWproto'] })])
      const spans = await spansOf(traceId)
      const root = spans.find(s => s.name === 'search')
      const child = spans.find(s => s.name === 'dht_peer_query')
      expect(root).toMatchObject({
        name: 'search',
        spanId: search.spanContext().spanId,
        attributes: { operation: 'p2p_search', total_results: 3, ratio: 0.5, tags: ['a', 'b'] },
        resource: { 'service.name': 'proto-test' },
        scope: 'p2p-marketplace'
      })
      expect(root!.startTimeUnixNano).toMatch(/^\d{19}$/)
      expect(child).toMatchObject({
        name: 'dht_peer_query',
        parentSpanId: search.spanContext().spanId,
        attributes: { ok: false },
        status: { code: 2, message: 'peer timed out' },
        events: [{ name: 'answered', attributes: { peers: 2 } }]
      })
    }
  )

  test('a body from the official protos, plain and gzip, is stored as its JSON twin is, and answered in protobuf', async () => {
    const twin = (traceId: string): { resourceSpans: unknown[] } =>
      otlpJson(
        [
          {
            traceId,
            spanId: '00000000000000a1',
            name: 'publish',
            attributes: { operation: 'publish', big: 2 ** 53 + 2 }
          },
          { traceId, spanId: '00000000000000a2', parentSpanId: '00000000000000a1', name: 'store_in_dht' }
        ],
        { 'service.instance.id': '12D3KooWtwin' }
      )
    const [json, plain, gz] = ['1a', '2b', '3c'].map(x => x.repeat(16))
    const asJson = await post(JSON.stringify(twin(json!)), { 'Content-Type': 'application/json' })
    expect(asJson.status).toBe(200)
    expect(await asJson.json()).toEqual({})
    const asProtobuf = await post(toProtobuf(twin(plain!)))
    expect(asProtobuf.status).toBe(200)
    expect(asProtobuf.headers.get('content-type')).toBe('application/x-protobuf')
    const { response } = officialProtos()
    // an empty ExportTraceServiceResponse: every span accepted
    expect(response.toObject(response.decode(new Uint8Array(await asProtobuf.arrayBuffer())))).toEqual({})
    const gzipped = await post(gzipSync(toProtobuf(twin(gz!))), { ...PROTOBUF, 'Content-Encoding': 'gzip' })
    expect(gzipped.status).toBe(200)

    const stored = await spansOf(json!)
    expect(stored).toHaveLength(2)
    expect(stored[0]!.attributes.big).toBe(2 ** 53 + 2)
    expect(stored[0]!.events[0]!.attributes).toEqual({ peer: '{"id":"p1"}', raw: 'aGVsbG8=' })
    expect(stored[1]!.parentSpanId).toBe('00000000000000a1')
    for (const traceId of [plain!, gz!]) {
      const spans = await spansOf(traceId)
      expect(spans.map(s => s.traceId)).toEqual([traceId, traceId])
      expect(spans.map(s => s.spanId)).toEqual(['00000000000000a1', '00000000000000a2'])
      expect(spans[1]!.parentSpanId).toBe('00000000000000a1')
      expect(spans[0]!.links).toEqual([{ traceId: 'cd'.repeat(16), spanId: 'ef'.repeat(8) }])
      expect(spans.map(content)).toEqual(stored.map(content))
    }
  })

  test('a bad protobuf body is refused (400) with a google.rpc.Status saying why', async () => {
    // a span field whose length runs past the end of the body
    const truncated = await post(new Uint8Array([0x0a, 0x10, 0x12, 0x05, 0x01]))
    expect(truncated.status).toBe(400)
    expect(truncated.headers.get('content-type')).toBe('application/x-protobuf')
    expect((await statusOf(truncated)).message).toMatch(/not a protobuf ExportTraceServiceRequest/)

    const shortId = toProtobuf(otlpJson([{ traceId: 'ab'.repeat(5), spanId: '00000000000000b1', name: 'x' }]))
    const badId = await post(shortId)
    expect(badId.status).toBe(400)
    expect(await statusOf(badId)).toMatchObject({
      code: 3,
      message: expect.stringMatching(/spans\[0\]\.traceId must be 32 hex digits/) as string
    })

    const notGzip = await post(new Uint8Array([1, 2, 3]), { ...PROTOBUF, 'Content-Encoding': 'gzip' })
    expect(notGzip.status).toBe(400)
    expect((await statusOf(notGzip)).message).toMatch(/not valid gzip/)
  })

  test('a protobuf body of too many tiny messages is refused (413) before it is decoded', async () => {
    const { request } = officialProtos()
    const events = Array.from({ length: 250_000 }, () => ({}))
    const bomb = new Uint8Array(
      request
        .encode(
          request.fromObject({
            resourceSpans: [
              {
                scopeSpans: [
                  { spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1), events }] }
                ]
              }
            ]
          })
        )
        .finish()
    )
    expect(bomb.byteLength).toBeLessThan(600_000)
    const res = await post(bomb)
    expect(res.status).toBe(413)
    expect((await statusOf(res)).message).toMatch(/over 400000 protobuf messages/)
  })

  test('an unsupported Content-Type is refused (415), naming both accepted types', async () => {
    for (const type of ['text/plain', 'application/grpc']) {
      const res = await post('x', { 'Content-Type': type })
      expect(res.status).toBe(415)
      const { error, message } = (await res.json()) as { error: string; message: string }
      expect(error).toMatch(/application\/x-protobuf or application\/json/)
      expect(message).toBe(error)
    }
  })
})
