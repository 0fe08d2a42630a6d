import { describe, expect, test } from 'vitest'
import { networkHealth, percentiles } from '../../relay/collector/network-health.ts'
import type { AttrValue, StoredSpan } from '../../src/core/telemetry/collector-api.ts'

const NOW = 1_764_000_000_000
let nextId = 0

/** A span as the collector stores it, `agoMs` before NOW. */
function span(
  name: string,
  agoMs: number,
  attributes: Record<string, AttrValue>,
  extra: Partial<StoredSpan> = {}
): StoredSpan {
  const start = BigInt(NOW - agoMs) * 1_000_000n
  return {
    traceId: 'ab'.repeat(16),
    spanId: (++nextId).toString(16).padStart(16, '0'),
    name,
    kind: 1,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: (start + 5_000_000n).toString(),
    durationMs: 5,
    attributes,
    status: { code: 0 },
    links: [],
    events: [],
    resource: { 'service.instance.id': 'self' },
    scope: 'p2p-marketplace',
    receivedAt: NOW,
    ...extra
  }
}

describe('network health', () => {
  test('publish success rates, per bucket and in total', () => {
    const health = networkHealth(
      [
        span('publish', 50_000, { dht_storage_success: true, gossipsub_success: true }),
        span('publish', 40_000, { dht_storage_success: false, gossipsub_success: true }),
        span(
          'publish',
          5_000,
          { dht_storage_success: false, gossipsub_success: false, error: 'no peers' },
          { status: { code: 2, message: 'no peers' } }
        ),
        // outside the window: ignored
        span('publish', 10 * 60_000, { dht_storage_success: true, gossipsub_success: true })
      ],
      { now: NOW, windowMs: 60_000, bucketMs: 30_000 }
    )
    expect(health.buckets).toEqual([NOW - 60_000, NOW - 30_000])
    expect(health.publish).toMatchObject({ total: 3, dhtStored: 1, gossiped: 2, failed: 1 })
    expect(health.publish.perBucket).toEqual([
      { total: 2, dhtRate: 0.5, gossipRate: 1 },
      { total: 1, dhtRate: 0, gossipRate: 0 }
    ])
  })

  test('search latency percentiles and the share of local results', () => {
    const searches = [10, 20, 30, 40, 500].map((latency, i) =>
      span('search', 1000 + i, { latency_ms: latency, local_results: 3, dht_results: 1 })
    )
    const health = networkHealth(searches, { now: NOW, windowMs: 60_000 })
    expect(health.search.total).toBe(5)
    expect(health.search.latencyMs).toEqual({ p50: 30, p95: 500, p99: 500 })
    expect(health.search.localShare).toBe(0.75)
    expect(health.search.perBucket.at(-1)).toEqual({ total: 5, p50: 30, p95: 500 })
    expect(networkHealth([], { now: NOW }).search.latencyMs).toBeNull()
  })

  test('fan-out effectiveness, per-peer latency and reputation over time', () => {
    const health = networkHealth(
      [
        span('query_dht_parallel', 3000, { fan_out: 3, peers_queried: 3, successful_responses: 2 }),
        span('query_dht_parallel', 2000, { fan_out: 3, peers_queried: 1, successful_responses: 0 }),
        span('dht_peer_query', 3000, { peer_id: 'A', query_latency_ms: 10 }),
        span('dht_peer_query', 2900, { peer_id: 'A', query_latency_ms: 30 }),
        span('dht_peer_query', 2800, { peer_id: 'B', query_latency_ms: 900 }, { status: { code: 2 } }),
        span('record_peer_success', 2990, { peer_id: 'A', new_reputation_score: 0.6 }),
        span('record_peer_success', 2890, { peer_id: 'A', new_reputation_score: 0.7 }),
        span('record_peer_failure', 2790, { peer_id: 'B', new_reputation_score: 0.2 })
      ],
      { now: NOW, windowMs: 60_000 }
    )
    expect(health.fanOut).toEqual({
      queries: 2,
      avgFanOut: 3,
      avgPeersQueried: 2,
      responseRate: 0.5,
      answeredShare: 0.5
    })
    const [a, b] = health.peers
    expect(a).toMatchObject({ peerId: 'A', queries: 2, failures: 0, avgLatencyMs: 20, reputation: 0.7 })
    expect(a?.reputationHistory).toEqual([
      [NOW - 2990, 0.6],
      [NOW - 2890, 0.7]
    ])
    // a failed query counts as a failure, and its latency is not an answer's latency
    expect(b).toMatchObject({ peerId: 'B', queries: 1, failures: 1, avgLatencyMs: null, reputation: 0.2 })
  })

  test('connection churn, gossip propagation through links, bootstrap reliability', () => {
    const announce = span('announce_package', 20_000, { package_id: 'a/b' })
    const health = networkHealth(
      [
        announce,
        span(
          'receive_package_announcement',
          19_960,
          { accepted: true },
          { links: [{ traceId: announce.traceId, spanId: announce.spanId }] }
        ),
        span('receive_package_announcement', 19_900, { accepted: false }),
        span('connection_established', 15_000, { peer_id: 'A' }),
        span('connection_established', 14_000, { peer_id: 'B' }),
        span('connection_closed', 1000, { peer_id: 'A' }),
        span('incoming_connection_error', 1000, { error: 'refused' }),
        span('bootstrap', 30_000, { connection_time_ms: 800 }),
        span('bootstrap', 29_000, { error: 'no relay' }, { status: { code: 2 } })
      ],
      { now: NOW, windowMs: 60_000, bucketMs: 10_000 }
    )
    expect(health.gossip).toEqual({
      deliveries: 2,
      accepted: 1,
      propagationMs: { p50: 40, p95: 40, p99: 40 }
    })
    expect(health.connections).toMatchObject({ opened: 2, closed: 1, errors: 1 })
    expect(health.connections.perBucket.map(b => b.opened)).toEqual([0, 0, 0, 0, 2, 0])
    expect(health.bootstrap).toEqual({
      total: 2,
      failed: 1,
      connectionTimeMs: { p50: 800, p95: 800, p99: 800 }
    })
  })

  test('the number of buckets is bounded whatever is asked', () => {
    const health = networkHealth([], { now: NOW, windowMs: 3_600_000, bucketMs: 1 })
    expect(health.buckets.length).toBeLessThanOrEqual(240)
    expect(percentiles([1, 2, 3, 4])).toEqual({ p50: 2, p95: 4, p99: 4 })
  })

  test('content downloads, and the bytes each peer served in them (bytes_by_peer), the busiest first', () => {
    const health = networkHealth(
      [
        span('fetch_content', 30_000, {
          bytes: 3000,
          source: 'peer',
          bytes_by_peer: ['12D3A=2000', '12D3B=1000']
        }),
        span('fetch_content', 20_000, { bytes: 500, source: 'peer', bytes_by_peer: ['12D3B=500'] }),
        span('fetch_content', 10_000, { bytes: 100, source: 'local', bytes_by_peer: [] }),
        // failed downloads and malformed entries count for nothing
        span('fetch_content', 5_000, { bytes_by_peer: ['12D3C=9'] }, { status: { code: 2 } }),
        span('fetch_content', 4_000, { bytes: 1, bytes_by_peer: ['nobody', '=5', '12D3D=x'] })
      ],
      { now: NOW }
    )
    expect(health.content).toEqual({
      downloads: 4,
      bytes: 3601,
      servedBy: [
        { peerId: '12D3A', downloads: 1, bytes: 2000 },
        { peerId: '12D3B', downloads: 2, bytes: 1500 }
      ]
    })
  })
})
