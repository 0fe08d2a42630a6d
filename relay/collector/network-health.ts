import { ATTR, EXTRA_SPAN, SPAN } from '../../src/core/telemetry/schema.ts'
import { percentileOfSorted } from '../../src/core/telemetry/percentile.ts'
import type { NetworkHealth, Percentiles, StoredSpan } from '../../src/core/telemetry/collector-api.ts'

export interface HealthWindow {
  /** End of the window, epoch ms. @default Date.now() */
  now?: number
  /** @default 15 minutes */
  windowMs?: number
  /** @default 30 s */
  bucketMs?: number
  /** Peers listed, the busiest first. @default 12 */
  maxPeers?: number
}

/** Largest number of buckets a request may ask for (keeps the answer and the charts small). */
const MAX_BUCKETS = 240
/** Peers listed as serving content (the busiest first). */
const MAX_SERVING_PEERS = 50

/**
 * Aggregates collected spans into the network-health view: publish success
 * rates, search latency and result sources, fan-out effectiveness, per-peer
 * latency and reputation over time, connection churn, gossip propagation and
 * bootstrap reliability. Pure: the collector calls it per request over its
 * bounded store, the tests call it over hand-made spans.
 */
/** The ICE paths a `connection_established` span may carry (anything else is not counted). */
const ICE_PATHS = new Set(['host', 'srflx', 'prflx', 'relay'])

export function networkHealth(spans: Iterable<StoredSpan>, window: HealthWindow = {}): NetworkHealth {
  const now = window.now ?? Date.now()
  const windowMs = Math.max(1000, window.windowMs ?? 15 * 60_000)
  const bucketMs = Math.max(windowMs / MAX_BUCKETS, window.bucketMs ?? 30_000)
  const count = Math.ceil(windowMs / bucketMs)
  const from = now - count * bucketMs
  const buckets = Array.from({ length: count }, (_, i) => from + i * bucketMs)
  const bucketOf = (t: number): number => Math.min(count - 1, Math.floor((t - from) / bucketMs))

  const publishes = buckets.map(() => ({ total: 0, dht: 0, gossip: 0 }))
  const searchLatency = buckets.map((): number[] => [])
  const churn = buckets.map(() => ({ opened: 0, closed: 0 }))
  const health: NetworkHealth = {
    generatedAt: now,
    windowMs: count * bucketMs,
    bucketMs,
    buckets,
    publish: { total: 0, dhtStored: 0, gossiped: 0, failed: 0, perBucket: [] },
    search: { total: 0, latencyMs: null, localResults: 0, remoteResults: 0, localShare: null, perBucket: [] },
    fanOut: { queries: 0, avgFanOut: null, avgPeersQueried: null, responseRate: null, answeredShare: null },
    peers: [],
    connections: { opened: 0, closed: 0, errors: 0, perBucket: [], icePaths: {} },
    gossip: { deliveries: 0, accepted: 0, propagationMs: null },
    bootstrap: { total: 0, failed: 0, connectionTimeMs: null },
    content: { downloads: 0, bytes: 0, servedBy: [] }
  }
  const served = new Map<string, { downloads: number; bytes: number }>()

  const fanOut = { fanOut: 0, queried: 0, answered: 0, withAnswer: 0 }
  const peers = new Map<
    string,
    { queries: number; failures: number; latencies: number[]; history: Array<[number, number]> }
  >()
  const peer = (id: string): NonNullable<ReturnType<typeof peers.get>> => {
    let p = peers.get(id)
    if (p == null) peers.set(id, (p = { queries: 0, failures: 0, latencies: [], history: [] }))
    return p
  }
  const announceStarts = new Map<string, number>()
  const receptions: Array<{ start: number; linked: string }> = []
  const bootstrapTimes: number[] = []

  const inWindow: StoredSpan[] = []
  for (const span of spans) {
    // every announce_package is kept (a delivery in the window may link to one just before it)
    if (span.name === SPAN.announcePackage) announceStarts.set(span.spanId, startMs(span))
    const t = startMs(span)
    if (t >= from && t <= now) inWindow.push(span)
  }

  for (const span of inWindow) {
    const t = startMs(span)
    const a = span.attributes
    const failed = span.status.code === 2 || a[ATTR.error] != null
    switch (span.name) {
      case SPAN.publish: {
        const b = publishes[bucketOf(t)]!
        b.total++
        health.publish.total++
        if (a[ATTR.dhtStorageSuccess] === true) {
          b.dht++
          health.publish.dhtStored++
        }
        if (a[ATTR.gossipsubSuccess] === true) {
          b.gossip++
          health.publish.gossiped++
        }
        if (failed) health.publish.failed++
        break
      }
      case SPAN.search: {
        const latency = num(a[ATTR.latencyMs]) ?? span.durationMs
        searchLatency[bucketOf(t)]!.push(latency)
        health.search.total++
        health.search.localResults += num(a[ATTR.localResults]) ?? 0
        health.search.remoteResults += num(a[ATTR.dhtResults]) ?? 0
        break
      }
      case EXTRA_SPAN.fetchContent: {
        if (failed) break
        health.content.downloads++
        health.content.bytes += num(a[ATTR.bytes]) ?? 0
        for (const entry of strings(a[ATTR.bytesByPeer])) {
          const [peerId = '', bytes] = entry.split('=')
          const sent = Number(bytes)
          if (peerId === '' || !Number.isFinite(sent)) continue
          const s = served.get(peerId) ?? { downloads: 0, bytes: 0 }
          s.downloads++
          s.bytes += sent
          served.set(peerId, s)
        }
        break
      }
      case SPAN.queryDhtParallel: {
        const queried = num(a[ATTR.peersQueried]) ?? 0
        const answered = num(a[ATTR.successfulResponses]) ?? 0
        health.fanOut.queries++
        fanOut.fanOut += num(a[ATTR.fanOut]) ?? 0
        fanOut.queried += queried
        fanOut.answered += answered
        if (answered > 0) fanOut.withAnswer++
        break
      }
      case SPAN.dhtPeerQuery: {
        const id = str(a[ATTR.peerId])
        if (id == null) break
        const p = peer(id)
        p.queries++
        if (failed) p.failures++
        const latency = num(a[ATTR.queryLatencyMs])
        if (latency != null && !failed) p.latencies.push(latency)
        break
      }
      case SPAN.recordPeerSuccess:
      case SPAN.recordPeerFailure: {
        const id = str(a[ATTR.peerId])
        const score = num(a[ATTR.newReputationScore])
        if (id != null && score != null) peer(id).history.push([t, score])
        break
      }
      case SPAN.connectionEstablished: {
        churn[bucketOf(t)]!.opened++
        health.connections.opened++
        const path = str(a.ice_path)
        if (path != null && ICE_PATHS.has(path)) {
          health.connections.icePaths[path] = (health.connections.icePaths[path] ?? 0) + 1
        }
        break
      }
      case SPAN.connectionClosed:
        churn[bucketOf(t)]!.closed++
        health.connections.closed++
        break
      case SPAN.incomingConnectionError:
        health.connections.errors++
        break
      case EXTRA_SPAN.receiveAnnouncement: {
        health.gossip.deliveries++
        if (a[ATTR.accepted] === true) health.gossip.accepted++
        const linked = span.links[0]?.spanId
        if (linked != null) receptions.push({ start: t, linked })
        break
      }
      case SPAN.bootstrap: {
        health.bootstrap.total++
        if (failed) health.bootstrap.failed++
        else bootstrapTimes.push(num(a[ATTR.connectionTimeMs]) ?? span.durationMs)
        break
      }
    }
  }

  health.publish.perBucket = publishes.map(b => ({
    total: b.total,
    dhtRate: b.total === 0 ? null : b.dht / b.total,
    gossipRate: b.total === 0 ? null : b.gossip / b.total
  }))
  const allSearches = searchLatency.flat()
  health.search.latencyMs = percentiles(allSearches)
  const results = health.search.localResults + health.search.remoteResults
  health.search.localShare = results === 0 ? null : health.search.localResults / results
  health.search.perBucket = searchLatency.map(l => {
    const p = percentiles(l)
    return { total: l.length, p50: p?.p50 ?? null, p95: p?.p95 ?? null }
  })
  const q = health.fanOut.queries
  health.fanOut.avgFanOut = q === 0 ? null : fanOut.fanOut / q
  health.fanOut.avgPeersQueried = q === 0 ? null : fanOut.queried / q
  health.fanOut.responseRate = fanOut.queried === 0 ? null : fanOut.answered / fanOut.queried
  health.fanOut.answeredShare = q === 0 ? null : fanOut.withAnswer / q
  health.connections.perBucket = churn
  health.bootstrap.connectionTimeMs = percentiles(bootstrapTimes)
  const propagation = receptions.flatMap(r => {
    const sent = announceStarts.get(r.linked)
    return sent == null ? [] : [Math.max(0, r.start - sent)]
  })
  health.gossip.propagationMs = percentiles(propagation)

  health.content.servedBy = [...served.entries()]
    .map(([peerId, s]) => ({ peerId, ...s }))
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, MAX_SERVING_PEERS)
  health.peers = [...peers.entries()]
    .map(([peerId, p]) => {
      const history = p.history.sort((x, y) => x[0] - y[0])
      const lat = percentiles(p.latencies)
      return {
        peerId,
        queries: p.queries,
        failures: p.failures,
        avgLatencyMs: p.latencies.length === 0 ? null : mean(p.latencies),
        p95LatencyMs: lat?.p95 ?? null,
        reputation: history.at(-1)?.[1] ?? null,
        reputationHistory: history
      }
    })
    .sort((x, y) => y.queries + y.reputationHistory.length - (x.queries + x.reputationHistory.length))
    .slice(0, window.maxPeers ?? 12)
  return health
}

/** Nearest-rank percentiles; `null` for no samples. */
export function percentiles(samples: number[]): Percentiles | null {
  if (samples.length === 0) return null
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99)
  }
}

function startMs(span: StoredSpan): number {
  return Number(BigInt(span.startTimeUnixNano) / 1_000_000n)
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** A string array attribute's strings (anything else: none). */
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}
