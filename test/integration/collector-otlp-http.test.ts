/**
 * The collector's OTLP/HTTP answers: partial success and throttling in the request's encoding,
 * and metrics and logs, which it does not keep, refused with 404 or passed on to the upstream.
 */
import { createServer } from 'node:http'
import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, test } from 'vitest'
import { Collector } from '../../relay/collector/collector.ts'
import { SpanStore } from '../../relay/collector/span-store.ts'
import { officialProtos, otlpJson, toProtobuf } from '../helpers/otlp-bodies.ts'
import { OtlpReceiver } from '../helpers/otlp-receiver.ts'
import { startTestRelay } from '../helpers/relay.ts'
import type { CollectorInit } from '../../relay/collector/collector.ts'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'

const PROTOBUF = { 'Content-Type': 'application/x-protobuf' }
const JSON_TYPE = { 'Content-Type': 'application/json' }
const spans = (n: number): Parameters<typeof otlpJson>[0] =>
  Array.from({ length: n }, (_, i) => ({
    traceId: '5e'.repeat(16),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: 'x'
  }))
const decode = async (res: Response, type: 'response' | 'status'): Promise<Record<string, unknown>> => {
  const message = officialProtos()[type]
  return message.toObject(message.decode(new Uint8Array(await res.arrayBuffer())), { longs: Number })
}

describe('a collector on its own', () => {
  let server: Server | undefined
  let collector: Collector | undefined
  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise(resolve => server?.close(resolve))
    await collector?.stop()
  })
  const serve = async (init: Partial<CollectorInit>): Promise<string> => {
    const running = new Collector({ store: new SpanStore({}), allowedOrigins: [], ...init })
    collector = running
    server = createServer(
      (req, res) => void running.handle(req, res, new URL(req.url ?? '/', 'http://127.0.0.1'))
    )
    await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`
  }

  test('partial success is answered in the request encoding: rejectedSpans and errorMessage', async () => {
    const url = await serve({ limits: { maxSpansPerRequest: 2 } })
    const asProtobuf = await fetch(url, {
      method: 'POST',
      headers: PROTOBUF,
      body: toProtobuf(otlpJson(spans(3)))
    })
    expect(asProtobuf.status).toBe(200)
    expect(asProtobuf.headers.get('content-type')).toBe('application/x-protobuf')
    expect(await decode(asProtobuf, 'response')).toEqual({
      partialSuccess: { rejectedSpans: 1, errorMessage: 'spans beyond 2 per request were rejected' }
    })
    const asJson = await fetch(url, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify(otlpJson(spans(3)))
    })
    expect(await asJson.json()).toEqual({
      partialSuccess: { rejectedSpans: 1, errorMessage: 'spans beyond 2 per request were rejected' }
    })
  })

  test('a full collector answers 503 with Retry-After (OTLP/HTTP throttling), in the request encoding', async () => {
    // no room for even one body waiting for the parser
    const url = await serve({ parser: { maxPending: 0 } })
    const asProtobuf = await fetch(url, {
      method: 'POST',
      headers: PROTOBUF,
      body: toProtobuf(otlpJson(spans(1)))
    })
    expect(asProtobuf.status).toBe(503)
    expect(asProtobuf.headers.get('retry-after')).toBe('1')
    expect(await decode(asProtobuf, 'status')).toMatchObject({
      code: 14,
      message: expect.stringMatching(/retry/) as string
    })
    const asJson = await fetch(url, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify(otlpJson(spans(1)))
    })
    expect(asJson.status).toBe(503)
    expect(asJson.headers.get('retry-after')).toBe('1')
    expect(await asJson.json()).toMatchObject({ code: 14, error: expect.stringMatching(/retry/) as string })
    expect(collector!.stats.busy).toBe(2)
  })
})

describe('metrics and logs', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  test('without an upstream: 404 with a message (never the web app), in the request encoding', async () => {
    const { relay, cleanup } = await startTestRelay()
    cleanups.push(cleanup)
    for (const signal of ['metrics', 'logs']) {
      const url = `${relay.httpUrl}/v1/${signal}`
      const asJson = await fetch(url, { method: 'POST', headers: JSON_TYPE, body: '{}' })
      expect(asJson.status).toBe(404)
      expect(asJson.headers.get('content-type')).toMatch(/^application\/json/)
      expect(((await asJson.json()) as { error: string }).error).toMatch(
        new RegExp(`traces only .*${signal} are not collected here.*OTEL_EXPORTER_OTLP_ENDPOINT`)
      )
      const asProtobuf = await fetch(url, { method: 'POST', headers: PROTOBUF, body: new Uint8Array() })
      expect(asProtobuf.status).toBe(404)
      expect(await decode(asProtobuf, 'status')).toMatchObject({
        code: 5,
        message: expect.stringMatching(signal) as string
      })
    }
    const unknown = await fetch(`${relay.httpUrl}/v1/profiles`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: '{}'
    })
    expect(unknown.status).toBe(404)
    expect(await unknown.text()).not.toMatch(/<html/i)
  })

  test('with OTEL_EXPORTER_OTLP_ENDPOINT: passed upstream as they came, with its headers, and its answer relayed', async () => {
    const upstream = new OtlpReceiver()
    await upstream.start()
    cleanups.push(async () => await upstream.stop())
    const { relay, cleanup } = await startTestRelay({
      otlpSignals: { endpoint: upstream.url, headers: { 'x-api-key': 'k3y-for-metrics' }, timeoutMs: 5000 }
    })
    cleanups.push(cleanup)
    const metrics = gzipSync(new Uint8Array([0x0a, 0x00]))
    const res = await fetch(`${relay.httpUrl}/v1/metrics`, {
      method: 'POST',
      headers: { ...PROTOBUF, 'Content-Encoding': 'gzip' },
      body: metrics
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-protobuf')
    const logs = await fetch(`${relay.httpUrl}/v1/logs`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: '{"resourceLogs":[]}'
    })
    expect(logs.status).toBe(200)
    const [gotMetrics, gotLogs] = upstream.received
    expect(gotMetrics).toMatchObject({ path: '/v1/metrics', body: Buffer.from(metrics) })
    expect(gotMetrics!.headers).toMatchObject({
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
      'x-api-key': 'k3y-for-metrics'
    })
    expect(gotLogs).toMatchObject({ path: '/v1/logs', body: Buffer.from('{"resourceLogs":[]}') })
    expect(gotLogs!.headers['content-type']).toBe('application/json')
    // none of it is a span
    expect(upstream.spans).toEqual([])

    await upstream.stop()
    const down = await fetch(`${relay.httpUrl}/v1/logs`, { method: 'POST', headers: JSON_TYPE, body: '{}' })
    expect(down.status).toBe(502)
    expect(((await down.json()) as { error: string }).error).toMatch(/could not be reached/)
  })
})
