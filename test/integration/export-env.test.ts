/**
 * The relay's export as the OpenTelemetry SDK environment variables configure it, seen by an
 * upstream receiver: protobuf (the spec's default) or JSON, gzip, headers (the traces-specific
 * ones winning), the time-out, the resource; and nothing at all with OTEL_SDK_DISABLED.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { parseRelayConfig } from '../../relay/config.ts'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { otlpJson } from '../helpers/otlp-bodies.ts'
import { OtlpReceiver } from '../helpers/otlp-receiver.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { RelayConfig } from '../../relay/config.ts'
import type { Relay } from '../../relay/relay.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A relay configured by `env` as `npm start` would be (on free ports, in a fresh DATA_DIR). */
async function relayFrom(
  env: NodeJS.ProcessEnv
): Promise<{ relay: Relay; dataDir: string; stop: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mp-export-env-'))
  const parsed = parseRelayConfig([], env)!
  const settings: Partial<RelayConfig> = {
    ...(parsed.otlpTracesEndpoint != null ? { otlpTracesEndpoint: parsed.otlpTracesEndpoint } : {}),
    ...(parsed.otlpSignals != null ? { otlpSignals: parsed.otlpSignals } : {}),
    otlpHeaders: parsed.otlpHeaders,
    otlpProtocol: parsed.otlpProtocol!,
    otlpCompression: parsed.otlpCompression!,
    otlpTimeoutMs: parsed.otlpTimeoutMs!,
    resourceAttributes: parsed.resourceAttributes!,
    sdkDisabled: parsed.sdkDisabled!,
    serviceName: parsed.serviceName
  }
  const { relay, cleanup } = await startTestRelay({ dataDir, ...settings })
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await cleanup()
  }
  cleanups.push(async () => {
    await stop()
    await rm(dataDir, { recursive: true, force: true })
  })
  return { relay, dataDir, stop }
}

async function receiver(): Promise<OtlpReceiver> {
  const upstream = new OtlpReceiver()
  await upstream.start()
  cleanups.push(async () => await upstream.stop())
  return upstream
}

const browserSpan = (traceId: string, spanId: string): string =>
  JSON.stringify(otlpJson([{ traceId, spanId, name: 'publish', attributes: { operation: 'publish' } }]))
const postSpan = async (relay: Relay, traceId: string, spanId: string): Promise<void> => {
  const res = await fetch(`${relay.httpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: browserSpan(traceId, spanId)
  })
  expect(res.status).toBe(200)
}

/** Starts a node on `relay` and stops it once the relay has seen it: the relay then has spans of its own. */
async function visit(relay: Relay): Promise<void> {
  const node = await createMarketplaceNode({ configUrl: relay.httpUrl })
  try {
    await node.waitFor('online', { signal: AbortSignal.timeout(20_000) })
  } finally {
    await node.stop()
  }
}

describe("the relay's export, configured by the environment", () => {
  test('http/protobuf (the default) with gzip, the configured headers and time-out, and the resource', async () => {
    const upstream = await receiver()
    const { relay } = await relayFrom({
      OTEL_EXPORTER_OTLP_ENDPOINT: upstream.url,
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=general-key,x-team=market',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'X-Api-Key=traces-key',
      OTEL_EXPORTER_OTLP_TIMEOUT: '30000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci,service.name=not-this-one',
      OTEL_SERVICE_NAME: 'env-relay'
    })
    // the first request is left unanswered: the forwarder gives up after 700 ms and sends it again
    upstream.hold = 1
    const traceId = 'e1'.repeat(16)
    await postSpan(relay, traceId, '00000000000000e1')
    await waitUntil('the span delivered after a retry', () => upstream.trace(traceId).length === 1, 15_000)
    const [held, delivered] = upstream.received.filter(r => r.path === '/v1/traces')
    expect(held!.abandonedAfterMs).toBeGreaterThanOrEqual(650)
    expect(held!.abandonedAfterMs).toBeLessThan(5000)
    for (const request of [held!, delivered!]) {
      expect(request.headers['content-type']).toBe('application/x-protobuf')
      expect(request.headers['content-encoding']).toBe('gzip')
      expect([...request.body.subarray(0, 2)]).toEqual([0x1f, 0x8b])
      expect(request.headers['x-api-key']).toBe('traces-key')
      expect(request.headers['x-team']).toBe('market')
    }
    expect(upstream.trace(traceId)[0]).toMatchObject({
      spanId: '00000000000000e1',
      attributes: { operation: 'publish' }
    })
    const health = (await (await fetch(`${relay.httpUrl}/healthz`)).json()) as {
      upstream: { failures: number; lastError: string }
    }
    expect(health.upstream.failures).toBeGreaterThanOrEqual(1)
    expect(health.upstream.lastError).toMatch(/did not answer within 700 ms/)

    // the relay's own spans go the same way, under its resource
    await visit(relay)
    await waitUntil(
      "the relay's own spans upstream",
      () => upstream.spans.some(s => s.resource['service.instance.id'] === relay.peerId),
      15_000
    )
    expect(
      upstream.spans.find(s => s.resource['service.instance.id'] === relay.peerId)!.resource
    ).toMatchObject({
      'service.name': 'env-relay',
      'deployment.environment': 'ci'
    })
  })

  test('http/json: JSON as it was posted, uncompressed', async () => {
    const upstream = await receiver()
    const { relay } = await relayFrom({
      OTEL_EXPORTER_OTLP_ENDPOINT: upstream.url,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=general-key'
    })
    const traceId = 'e2'.repeat(16)
    await postSpan(relay, traceId, '00000000000000e2')
    await waitUntil('the span delivered', () => upstream.trace(traceId).length === 1, 15_000)
    const [request] = upstream.received
    expect(request!.headers['content-type']).toBe('application/json')
    expect(request!.headers['content-encoding']).toBeUndefined()
    expect(request!.headers['x-api-key']).toBe('general-key')
    expect(request!.body.toString()).toBe(browserSpan(traceId, '00000000000000e2'))
  })

  test('OTEL_SDK_DISABLED: nothing upstream, no span of its own; the collector still takes and shows spans', async () => {
    const upstream = await receiver()
    const { relay, dataDir, stop } = await relayFrom({
      OTEL_EXPORTER_OTLP_ENDPOINT: upstream.url,
      OTEL_SDK_DISABLED: 'true'
    })
    const traceId = 'e3'.repeat(16)
    await postSpan(relay, traceId, '00000000000000e3')
    const trace = (await (await fetch(`${relay.httpUrl}/api/traces/${traceId}`)).json()) as {
      spans: unknown[]
    }
    expect(trace.spans).toHaveLength(1)
    expect(await (await fetch(`${relay.httpUrl}/healthz`)).json()).not.toHaveProperty('upstream')
    const metrics = await fetch(`${relay.httpUrl}/v1/metrics`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}'
    })
    expect(metrics.status).toBe(404)
    await visit(relay)
    // stopping flushes whatever the relay traced into its collector, and the collector to disk
    await stop()
    const stored = (await readFile(join(dataDir, 'traces.ndjson'), 'utf8')).trim().split('\n')
    expect(stored.some(line => line.includes(traceId))).toBe(true)
    expect(stored.some(line => line.includes(relay.peerId))).toBe(false)
    expect(upstream.received).toEqual([])
  })
})
