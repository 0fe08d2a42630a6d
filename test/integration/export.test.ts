/**
 * What the OTLP exporter really sends, received by a plain local HTTP server:
 * the body conforms to the OTLP/JSON mapping; and while the collector is
 * unavailable publish and search still work, and the spans they made are
 * retried until it comes back (within the exporter's 10 s deadline and the
 * queue bound), delivered once.
 */
import { createServer } from 'node:http'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { parseOtlpJson } from '../../relay/collector/otlp-json.ts'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { createTracedMarketplaceNode } from '../../src/otel/traced-node.ts'
import { freePort, startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { MarketplaceNode } from '../../src/core/index.ts'
import type { Server } from 'node:http'

interface Received {
  contentType?: string
  body: Record<string, unknown>
}

let port: number
let server: Server | undefined
const received: Received[] = []
/** Requests answered 503, as a proxy in front of a collector that is down answers them. */
const refused: Received[] = []
let available = true
let cleanup: () => Promise<void>
let node: MarketplaceNode
let other: MarketplaceNode

async function startReceiver(): Promise<void> {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const request = {
        contentType: req.headers['content-type'],
        body: JSON.parse(body) as Record<string, unknown>
      }
      if (!available) {
        refused.push(request)
        res.writeHead(503, { 'Content-Type': 'application/json' }).end('{}')
        return
      }
      received.push(request)
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>(resolve => server!.listen(port, '127.0.0.1', resolve))
}

async function stopReceiver(): Promise<void> {
  server?.closeAllConnections()
  await new Promise(resolve => server?.close(resolve))
  server = undefined
}

const spanNames = (): string[] => received.flatMap(r => parseOtlpJson(r.body).map(s => s.name))

beforeAll(async () => {
  port = await freePort()
  await startReceiver()
  const started = await startTestRelay()
  cleanup = started.cleanup
  node = await createTracedMarketplaceNode(
    { configUrl: started.relay.httpUrl },
    { endpoint: `http://127.0.0.1:${port}/v1/traces`, serviceName: 'export-test', serviceVersion: '9.9.9' }
  )
  other = await createMarketplaceNode({ configUrl: started.relay.httpUrl })
  await Promise.all([node.waitFor('online'), other.waitFor('online')])
})

afterAll(async () => {
  await Promise.all([node?.stop(), other?.stop()])
  await cleanup()
  await stopReceiver()
})

test("the exporter's HTTP body conforms to the OTLP/JSON mapping", async () => {
  await node.publish({
    id: 'export/check',
    version: '1.0.0',
    title: 'Export check',
    description: 'x',
    license: 'MIT'
  })
  await waitUntil('an export with the publish span', () => spanNames().includes('publish'), 10_000)
  const request = received.find(r => JSON.stringify(r.body).includes('"publish"'))!
  expect(request.contentType).toMatch(/^application\/json/)
  const [resourceSpans] = request.body.resourceSpans as Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }
    scopeSpans: Array<{ scope: { name: string }; spans: Array<Record<string, unknown>> }>
  }>
  const resource = Object.fromEntries(
    resourceSpans!.resource.attributes.map(a => [a.key, a.value.stringValue])
  )
  expect(resource).toMatchObject({
    'service.name': 'export-test',
    'service.version': '9.9.9',
    'service.instance.id': node.peerId
  })
  expect(resourceSpans!.scopeSpans[0]!.scope.name).toBe('p2p-marketplace')
  const publish = resourceSpans!.scopeSpans.flatMap(s => s.spans).find(s => s.name === 'publish')!
  // hex ids, integer enums, nanosecond times as decimal strings, lowerCamelCase keys
  expect(publish.traceId).toMatch(/^[0-9a-f]{32}$/)
  expect(publish.spanId).toMatch(/^[0-9a-f]{16}$/)
  expect(typeof publish.kind).toBe('number')
  expect(String(publish.startTimeUnixNano)).toMatch(/^\d{19}$/)
  expect(publish.status).toMatchObject({ code: expect.any(Number) as number })
  const attributes = publish.attributes as Array<{ key: string; value: Record<string, unknown> }>
  expect(attributes.find(a => a.key === 'package_id')?.value).toEqual({ stringValue: 'export/check' })
  expect(attributes.find(a => a.key === 'dht_storage_success')?.value).toHaveProperty('boolValue')
  // and the whole request parses as OTLP/JSON
  expect(parseOtlpJson(request.body).length).toBeGreaterThan(0)
})

test('with the collector unavailable, publish and search still work; when it returns, their spans arrive once', async () => {
  available = false
  const before = received.length
  const result = await node.publish({
    id: 'export/offline',
    version: '1.0.0',
    title: 'Published while the collector is down',
    description: 'x',
    license: 'MIT'
  })
  expect(result.dhtStored || result.announced).toBe(true)
  expect((await node.search({ text: 'collector down' })).packages.map(p => p.id)).toContain('export/offline')
  const offlinePublishes = (requests: Received[]): string[] =>
    requests
      .flatMap(r => parseOtlpJson(r.body))
      .filter(s => s.name === 'publish' && s.attributes.package_id === 'export/offline')
      .map(s => s.spanId)
  // the exporter did try to send the publish span, and was refused
  await waitUntil(
    'an export refused with the publish span',
    () => offlinePublishes(refused).length > 0,
    10_000
  )

  available = true
  await node.search({ text: 'after the collector came back' })
  await waitUntil(
    'export to resume',
    () => received.slice(before).some(r => JSON.stringify(r.body).includes('after the collector came back')),
    15_000
  )
  // the span refused while the collector was down was retried, not dropped, and delivered once
  expect(offlinePublishes(received.slice(before))).toEqual([offlinePublishes(refused)[0]])
})
