/**
 * OTLP protobuf in the collector: the OTLP/JSON form both ways, the scan that bounds a body before
 * it is decoded, and what goes upstream in the upstream's encoding whatever a client posted.
 */
import { createServer } from 'node:http'
import protobuf from 'protobufjs'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { Collector } from '../../relay/collector/collector.ts'
import { OtlpFormatError } from '../../relay/collector/errors.ts'
import {
  countProtobufContainers,
  decodeTraceRequest,
  encodeTraceRequest
} from '../../relay/collector/otlp-proto.ts'
import { parseOtlpJson } from '../../relay/collector/otlp-json.ts'
import { SpanStore } from '../../relay/collector/span-store.ts'
import { otlpJson, toProtobuf } from '../helpers/otlp-bodies.ts'
import type { OtlpEncoding } from '../../relay/collector/otlp-proto.ts'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'

const TRACE = 'ab'.repeat(16)
const sample = (): { resourceSpans: unknown[] } =>
  otlpJson(
    [
      {
        traceId: TRACE,
        spanId: '0000000000000001',
        name: 'publish',
        attributes: { big: 2 ** 53 + 2, r: 0.25 }
      },
      { traceId: TRACE, spanId: '0000000000000002', parentSpanId: '0000000000000001', name: 'store_in_dht' }
    ],
    { 'service.instance.id': '12D3KooWx' }
  )

describe('the OTLP/JSON form', () => {
  test('a protobuf body decodes to what its JSON twin parses to, exact 64-bit integers included', () => {
    expect(parseOtlpJson(decodeTraceRequest(toProtobuf(sample())), 1)).toEqual(parseOtlpJson(sample(), 1))
    const decoded = JSON.stringify(decodeTraceRequest(toProtobuf(sample())))
    expect(decoded).toContain('"intValue":"9007199254740994"')
    expect(decoded).toContain('"startTimeUnixNano":"1764000000000000123"')
  })

  test('JSON to protobuf and back keeps every span as it was', () => {
    expect(parseOtlpJson(decodeTraceRequest(encodeTraceRequest(sample())), 1)).toEqual(
      parseOtlpJson(sample(), 1)
    )
  })

  test('what protobuf cannot hold is left out, never a reason to fail', () => {
    const odd = {
      resourceSpans: [
        {
          resource: 5,
          scopeSpans: [
            {
              scope: 'not an object',
              spans: [
                {
                  traceId: TRACE,
                  spanId: '0000000000000003',
                  name: 'odd',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: 'soon',
                  attributes: [
                    null,
                    { key: 'empty', value: { intValue: '' } },
                    { key: 'b', value: { bytesValue: '!!' } },
                    { key: 'd', value: { doubleValue: 'x' } }
                  ],
                  events: 'none',
                  links: [7]
                }
              ]
            }
          ]
        }
      ]
    }
    const [span] = decodeTraceRequest(encodeTraceRequest(odd)).resourceSpans as Array<{
      scopeSpans: Array<{ spans: Array<Record<string, unknown>> }>
    }>
    expect(span!.scopeSpans[0]!.spans[0]).toMatchObject({ traceId: TRACE, name: 'odd', kind: 2 })
  })
})

describe('the scan before decoding', () => {
  test('counts the messages and repeated fields decode would make', () => {
    // request, resourceSpans, scopeSpans, 2 spans, their events, links, attributes, values…
    const count = countProtobufContainers(toProtobuf(sample()))
    expect(count).toBeGreaterThan(20)
    expect(count).toBeLessThan(60)
    // stops counting just past the bound
    const stopped = countProtobufContainers(toProtobuf(sample()), 5)
    expect(stopped).toBeGreaterThan(5)
    expect(stopped).toBeLessThan(count)
  })

  test('refuses a body whose lengths do not add up, or that nests past the decoder', () => {
    expect(() => countProtobufContainers(new Uint8Array([0x0a, 0x10, 0x12]))).toThrow(OtlpFormatError)
    expect(() => countProtobufContainers(new Uint8Array([0x0a, 0x02, 0x12, 0x05]))).toThrow(/runs past/)
    // kvlist in kvlist, 200 levels deep, written field by field (protobufjs refuses to encode it)
    const field = (number: number, bytes: Uint8Array): Uint8Array =>
      protobuf.Writer.create()
        .uint32((number << 3) | 2)
        .bytes(bytes)
        .finish()
    const keyValue = (value: Uint8Array): Uint8Array =>
      new Uint8Array([...protobuf.Writer.create().uint32(10).string('k').finish(), ...field(2, value)])
    let value = protobuf.Writer.create().uint32(10).string('bottom').finish()
    for (let i = 0; i < 200; i++) value = field(6, field(1, keyValue(value)))
    const deep = field(1, field(1, field(1, keyValue(value))))
    expect(() => countProtobufContainers(deep)).toThrow(/max depth exceeded/)
    expect(() => decodeTraceRequest(deep)).toThrow(OtlpFormatError)
  })
})

describe('what goes upstream, in its encoding', () => {
  let server: Server | undefined
  let collector: Collector | undefined
  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise(resolve => server?.close(resolve))
    await collector?.stop()
  })
  const start = async (encoding: OtlpEncoding, sent: Uint8Array[]): Promise<string> => {
    // a trace of at most 2 spans: the third is refused by the store, after the parser kept it
    const running = new Collector({
      store: new SpanStore({ maxSpansPerTrace: 2 }),
      forwarder: { encoding, enqueue: body => sent.push(body) },
      allowedOrigins: []
    })
    collector = running
    server = createServer((req, res) => void running.handle(req, res, new URL(req.url ?? '/', 'http://x')))
    await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`
  }
  const spans = (n: number): Parameters<typeof otlpJson>[0] =>
    Array.from({ length: n }, (_, i) => ({ traceId: TRACE, spanId: `${i + 1}`.padStart(16, '0'), name: 's' }))

  test('protobuf posted, JSON upstream: hex ids, only the spans the store took', async () => {
    const sent: Uint8Array[] = []
    const url = await start('json', sent)
    const body = toProtobuf(otlpJson(spans(3)))
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf' },
      body
    })
    expect(res.status).toBe(200)
    await vi.waitFor(() => expect(sent).toHaveLength(1))
    const forwarded = parseOtlpJson(JSON.parse(new TextDecoder().decode(sent[0])))
    expect(forwarded.map(s => s.spanId)).toEqual(['0000000000000001', '0000000000000002'])
  })

  test('JSON posted, protobuf upstream: the same, cut in protobuf', async () => {
    const sent: Uint8Array[] = []
    const url = await start('protobuf', sent)
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(otlpJson(spans(3)))
    })
    expect(res.status).toBe(200)
    await vi.waitFor(() => expect(sent).toHaveLength(1))
    const forwarded = parseOtlpJson(decodeTraceRequest(sent[0]!))
    expect(forwarded.map(s => s.spanId)).toEqual(['0000000000000001', '0000000000000002'])
    // the relay's own spans (ingested on this thread) go in protobuf too
    collector!.ingest(otlpJson([{ traceId: 'cd'.repeat(16), spanId: '00000000000000c1', name: 'own' }]))
    expect(parseOtlpJson(decodeTraceRequest(sent[1]!)).map(s => s.name)).toEqual(['own'])
  })
})
