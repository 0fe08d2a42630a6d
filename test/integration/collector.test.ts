import { createServer } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { Relay } from '../../relay/relay.ts'
import type { RelayConfig } from '../../relay/config.ts'
import type { IncomingHttpHeaders, Server } from 'node:http'

const traceId = 'ab'.repeat(16)
const otlp = (
  spanId: string,
  name: string,
  attributes: Record<string, string | number | boolean>,
  parentSpanId?: string
): unknown => ({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.instance.id', value: { stringValue: '12D3KooWtest' } }] },
      scopeSpans: [
        {
          scope: { name: 'p2p-marketplace' },
          spans: [
            {
              traceId,
              spanId,
              ...(parentSpanId != null ? { parentSpanId } : {}),
              name,
              kind: 1,
              startTimeUnixNano: '1764000000000000000',
              endTimeUnixNano: '1764000000245000000',
              attributes: Object.entries(attributes).map(([key, v]) => ({
                key,
                value:
                  typeof v === 'string'
                    ? { stringValue: v }
                    : typeof v === 'boolean'
                      ? { boolValue: v }
                      : { intValue: String(v) }
              })),
              status: { code: 1 }
            }
          ]
        }
      ]
    }
  ]
})

describe('the embedded collector', () => {
  let dataDir: string
  let relay: Relay
  let config: Partial<RelayConfig>
  let cleanup: () => Promise<void>
  const post = async (
    body: BodyInit,
    headers: Record<string, string> = { 'Content-Type': 'application/json' }
  ): Promise<Response> => await fetch(`${relay.httpUrl}/v1/traces`, { method: 'POST', headers, body })

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mp-collector-'))
    config = { dataDir, embedOrigins: ['https://shop.example'] }
    ;({ relay, cleanup } = await startTestRelay(config))
  })
  afterEach(async () => {
    await cleanup()
    await rm(dataDir, { recursive: true, force: true })
  })

  test('accepts OTLP/JSON (plain and gzip) and answers the OTLP success response', async () => {
    const plain = await post(
      JSON.stringify(
        otlp('00000000000000a1', 'publish', {
          operation: 'publish',
          package_id: 'a/b',
          dht_storage_success: true,
          latency_ms: 245
        })
      )
    )
    expect(plain.status).toBe(200)
    expect(await plain.json()).toEqual({})
    const gz = await post(
      gzipSync(
        JSON.stringify(otlp('00000000000000a2', 'store_in_dht', { operation: 'dht_put' }, '00000000000000a1'))
      ),
      {
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip'
      }
    )
    expect(gz.status).toBe(200)
    const trace = (await (await fetch(`${relay.httpUrl}/api/traces/${traceId}`)).json()) as {
      spans: Array<{
        name: string
        parentSpanId?: string
        attributes: Record<string, unknown>
        durationMs: number
      }>
    }
    expect(trace.spans.map(s => s.name)).toEqual(['publish', 'store_in_dht'])
    expect(trace.spans[0]!.attributes).toMatchObject({
      operation: 'publish',
      package_id: 'a/b',
      dht_storage_success: true,
      latency_ms: 245
    })
    expect(trace.spans[0]!.durationMs).toBe(245)
    expect(trace.spans[1]!.parentSpanId).toBe('00000000000000a1')
  })

  test('refuses what is not OTLP with a reason: 400, 413, 415', async () => {
    const notJson = await post('{ nope')
    expect(notJson.status).toBe(400)
    expect(((await notJson.json()) as { error: string }).error).toMatch(/not JSON/)
    const badId = await post(
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'xyz',
                    spanId: '00000000000000a1',
                    name: 'x',
                    startTimeUnixNano: '1',
                    endTimeUnixNano: '2'
                  }
                ]
              }
            ]
          }
        ]
      })
    )
    expect(badId.status).toBe(400)
    expect(((await badId.json()) as { error: string }).error).toMatch(
      /spans\[0\]\.traceId must be 32 hex digits/
    )
    const huge = await post(JSON.stringify({ resourceSpans: [], padding: 'x'.repeat(5 * 1024 * 1024) }))
    expect(huge.status).toBe(413)
    const xml = await post('<spans/>', { 'Content-Type': 'application/xml' })
    expect(xml.status).toBe(415)
    expect(((await xml.json()) as { error: string }).error).toMatch(
      /application\/x-protobuf or application\/json/
    )
  })

  test('CORS: preflight for allowed embedding origins, refusal for others', async () => {
    const preflight = await fetch(`${relay.httpUrl}/v1/traces`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://shop.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type'
      }
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Content-Type/i)
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/)
    const evil = await fetch(`${relay.httpUrl}/v1/traces`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' }
    })
    expect(evil.status).toBe(403)
    expect(evil.headers.get('access-control-allow-origin')).toBeNull()
  })

  test('query by operation and attributes, live stream, and spans that survive a restart', async () => {
    const events: string[] = []
    const stream = await fetch(`${relay.httpUrl}/api/traces/stream`)
    const reader = stream.body!.getReader()
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        events.push(new TextDecoder().decode(value))
      }
    })().catch(() => {})
    await post(
      JSON.stringify(
        otlp('00000000000000b1', 'search', { operation: 'p2p_search', query_text: 'pad', total_results: 2 })
      )
    )
    const found = (await (
      await fetch(`${relay.httpUrl}/api/traces?operation=p2p_search&attr.query_text=pad&limit=5`)
    ).json()) as { traces: Array<{ traceId: string; name: string; peers: string[] }> }
    expect(found.traces).toEqual([
      expect.objectContaining({ traceId, name: 'search', peers: ['12D3KooWtest'] })
    ])
    expect(
      (
        (await (await fetch(`${relay.httpUrl}/api/traces?attr.query_text=other`)).json()) as {
          traces: unknown[]
        }
      ).traces
    ).toEqual([])
    await waitUntil(
      'the live event',
      () => events.join('').includes('event: spans') && events.join('').includes('00000000000000b1'),
      5_000
    )
    await reader.cancel()

    await relay.collector.store.flush()
    await cleanup()
    ;({ relay, cleanup } = await startTestRelay(config))
    expect(
      ((await (await fetch(`${relay.httpUrl}/api/traces/${traceId}`)).json()) as { spans: unknown[] }).spans
    ).toHaveLength(1)
  })

  test("the relay's own spans (connections, answered requests) reach its collector", async () => {
    await fetch(`${relay.httpUrl}/config.json`)
    const { createMarketplaceNode } = await import('../../src/core/index.ts')
    const node = await createMarketplaceNode({ configUrl: relay.httpUrl })
    try {
      await node.waitFor('online', { signal: AbortSignal.timeout(20_000) })
      await waitUntil(
        'relay-side connection_established',
        () =>
          relay.collector.store
            .spans('connection_established')
            .some(s => s.resource['service.instance.id'] === relay.peerId),
        10_000
      )
    } finally {
      await node.stop()
    }
  })
})

describe('forwarding to an upstream collector', () => {
  let upstream: Server
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = []
  let failNext = 0

  beforeEach(async () => {
    upstream = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        if (failNext > 0) {
          failNext--
          res.writeHead(503).end()
          return
        }
        received.push({ headers: req.headers, body })
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  })
  afterEach(async () => {
    await new Promise(resolve => upstream.close(resolve))
  })

  test('browser spans are forwarded with the configured headers, retried after 503, and never lose their ids', async () => {
    const address = upstream.address() as { port: number }
    const dataDir = await mkdtemp(join(tmpdir(), 'mp-forward-'))
    const { relay, cleanup } = await startTestRelay({
      dataDir,
      otlpTracesEndpoint: `http://127.0.0.1:${address.port}/v1/traces`,
      otlpHeaders: { 'x-api-key': 'secret' },
      // read as text below (the default, http/protobuf, is in collector-protobuf.test.ts)
      otlpProtocol: 'http/json'
    })
    try {
      // the runtime config sends browsers to the relay, never to the upstream or its key
      const runtime = JSON.stringify(await (await fetch(`${relay.httpUrl}/config.json`)).json())
      expect(runtime).not.toContain('secret')
      expect(runtime).toContain(`"otlpTracesEndpoint":"${relay.httpUrl}/v1/traces"`)
      failNext = 2
      const res = await fetch(`${relay.httpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(otlp('00000000000000c1', 'publish', { operation: 'publish' }))
      })
      expect(res.status).toBe(200)
      await waitUntil(
        'forwarded after two 503s',
        () => received.some(r => r.body.includes('00000000000000c1')),
        15_000
      )
      const forwarded = received.find(r => r.body.includes('00000000000000c1'))!
      expect(forwarded.headers['x-api-key']).toBe('secret')
      expect(forwarded.body).toContain(traceId)
    } finally {
      await cleanup()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
  test('spans the store refuses (their trace at its cap, already stored) are not forwarded', async () => {
    const address = upstream.address() as { port: number }
    const dataDir = await mkdtemp(join(tmpdir(), 'mp-forward-'))
    const { relay, cleanup } = await startTestRelay({
      dataDir,
      otlpTracesEndpoint: `http://127.0.0.1:${address.port}/v1/traces`,
      otlpProtocol: 'http/json'
    })
    const full = 'fe'.repeat(16)
    const other = 'ed'.repeat(16)
    const span = (trace: string, n: number): unknown => ({
      traceId: trace,
      spanId: n.toString(16).padStart(16, '0'),
      name: 'x',
      startTimeUnixNano: '1',
      endTimeUnixNano: '2'
    })
    const post = async (spans: unknown[]): Promise<Response> =>
      await fetch(`${relay.httpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ scope: { name: 's' }, spans }] }] })
      })
    try {
      // the trace reaches its cap of 1000 spans
      expect((await post(Array.from({ length: 1000 }, (_, i) => span(full, i + 1)))).status).toBe(200)
      await waitUntil('the full trace forwarded', () => received.some(r => r.body.includes(full)), 15_000)
      const res = await post([span(full, 2000), span(full, 1), span(other, 1)])
      expect(await res.json()).toMatchObject({ partialSuccess: { rejectedSpans: 1 } })
      await waitUntil('the new span forwarded', () => received.some(r => r.body.includes(other)), 15_000)
      const forwarded = received.find(r => r.body.includes(other))!
      expect(forwarded.body).not.toContain(full)
      expect(received.filter(r => r.body.includes(full))).toHaveLength(1)
      expect(received.some(r => r.body.includes('00000000000007d0'))).toBe(false)
    } finally {
      await cleanup()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
