/**
 * What the relay's embedded collector returns (`GET /api/traces`,
 * `GET /api/traces/:traceId`, the `spans` events of `/api/traces/stream`):
 * shared by the collector and the trace panel.
 */

export type AttrValue = string | number | boolean | Array<string | number | boolean> | null

/** One span as the collector keeps it. */
export interface StoredSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  /** End minus start, ms. */
  durationMs: number
  attributes: Record<string, AttrValue>
  status: { code: number; message?: string }
  links: Array<{ traceId: string; spanId: string }>
  events: Array<{ name: string; timeUnixNano: string; attributes: Record<string, AttrValue> }>
  resource: Record<string, AttrValue>
  scope: string
  /** When the collector received it, epoch ms. */
  receivedAt: number
}

/** One trace, as the list view shows it. */
export interface TraceSummary {
  traceId: string
  /** The root span's name (or the earliest span's, while the root has not arrived). */
  name: string
  operation?: string
  startTimeUnixNano: string
  durationMs: number
  spanCount: number
  /** `service.instance.id`s (peer ids) that contributed spans. */
  peers: string[]
  error: boolean
}

/** Latency percentiles, ms; `null` when nothing was measured. */
export interface Percentiles {
  p50: number
  p95: number
  p99: number
}

/**
 * `GET /api/network-health`: the spec's "usage examples" and "production
 * benefits" answered from the collected spans of every node, over a sliding
 * window cut into buckets (each `perBucket` array is aligned with `buckets`).
 */
export interface NetworkHealth {
  generatedAt: number
  windowMs: number
  bucketMs: number
  /** Start of each bucket, epoch ms, oldest first. */
  buckets: number[]
  /** `publish` spans: `dht_storage_success` and `gossipsub_success`. */
  publish: {
    total: number
    dhtStored: number
    gossiped: number
    failed: number
    perBucket: Array<{ total: number; dhtRate: number | null; gossipRate: number | null }>
  }
  /** `search` spans: `latency_ms`, `local_results`, `dht_results`. */
  search: {
    total: number
    latencyMs: Percentiles | null
    localResults: number
    remoteResults: number
    /** Share of results that came from the local catalog, 0..1. */
    localShare: number | null
    perBucket: Array<{ total: number; p50: number | null; p95: number | null }>
  }
  /** `query_dht_parallel` spans: how much of each fan-out answered. */
  fanOut: {
    queries: number
    avgFanOut: number | null
    avgPeersQueried: number | null
    /** successful_responses / peers_queried over every query. */
    responseRate: number | null
    /** Share of queries with at least one successful response. */
    answeredShare: number | null
  }
  /** `dht_peer_query` and `record_peer_*` spans, per queried peer (the busiest first). */
  peers: Array<{
    peerId: string
    queries: number
    failures: number
    avgLatencyMs: number | null
    p95LatencyMs: number | null
    reputation: number | null
    /** `new_reputation_score` over time: [epoch ms, score]. */
    reputationHistory: Array<[number, number]>
  }>
  /** `connection_established`, `connection_closed`, `incoming_connection_error` spans, as reported by every node. */
  connections: {
    opened: number
    closed: number
    errors: number
    perBucket: Array<{ opened: number; closed: number }>
    /** Direct WebRTC connections opened, by ICE path (`ice_path`: host, srflx, prflx, relay through TURN). */
    icePaths: Record<string, number>
  }
  /** Announcements received (`receive_package_announcement` linked to the publisher's `announce_package`). */
  gossip: { deliveries: number; accepted: number; propagationMs: Percentiles | null }
  /** `bootstrap` spans. */
  bootstrap: { total: number; failed: number; connectionTimeMs: Percentiles | null }
  /**
   * `fetch_content` spans: downloads and their bytes, and the bytes each peer served in them
   * (`bytes_by_peer`), the busiest first.
   */
  content: {
    downloads: number
    bytes: number
    servedBy: Array<{ peerId: string; downloads: number; bytes: number }>
  }
}
