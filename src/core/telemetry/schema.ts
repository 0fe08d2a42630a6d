/**
 * The span schema of ../shared/spec/p2p-otel-instrumentation.md, written once:
 * span names, attribute keys and `operation` values exactly as the spec spells
 * them. Code, tests and the UI use these constants, never string literals.
 */

export const SPAN = {
  bootstrap: 'bootstrap',
  publish: 'publish',
  storeInDht: 'store_in_dht',
  announcePackage: 'announce_package',
  search: 'search',
  queryDhtParallel: 'query_dht_parallel',
  dhtPeerQuery: 'dht_peer_query',
  recordPeerSuccess: 'record_peer_success',
  recordPeerFailure: 'record_peer_failure',
  processEvents: 'process_events',
  behaviourEvent: 'behaviour_event',
  connectionEstablished: 'connection_established',
  connectionClosed: 'connection_closed',
  incomingConnectionError: 'incoming_connection_error'
} as const

export type SpanName = (typeof SPAN)[keyof typeof SPAN]

/**
 * Spans we add beyond the spec (allowed: the spec's names are never reused).
 * `handle_peer_query` is the answering peer's side of a `dht_peer_query`, its
 * child through the W3C trace context carried in the request;
 * `receive_package_announcement` links to the publisher's `announce_package`.
 */
/**
 * Ours: events of the `bootstrap` span, one per start-up phase as it ends, so a trace shows where
 * the time went. The first `bootstrap` span of a node starts when the node is created.
 */
export const BOOTSTRAP_PHASE = {
  identity: 'identity_loaded',
  catalog: 'catalog_loaded',
  config: 'runtime_config_fetched',
  libp2p: 'libp2p_started',
  relayConnected: 'relay_connected',
  reserved: 'relay_reserved'
} as const

export const EXTRA_SPAN = {
  handlePeerQuery: 'handle_peer_query',
  receiveAnnouncement: 'receive_package_announcement',
  /** A package's content fetched (from here or from peers), verified and kept. */
  fetchContent: 'fetch_content',
  /** Content imported into the content store: a child of `publish`. */
  storeContent: 'store_content'
} as const

/** Values of the `operation` attribute, per span. */
export const OPERATION = {
  bootstrap: 'bootstrap',
  gossipsubPublish: 'gossipsub_publish',
  dhtPut: 'dht_put',
  dhtQueryParallel: 'dht_query_parallel',
  peerReputationUpdate: 'peer_reputation_update',
  p2pSearch: 'p2p_search',
  publish: 'publish',
  processEvents: 'process_events'
} as const

export const ATTR = {
  operation: 'operation',
  error: 'error',
  peerId: 'peer_id',
  bootstrapNodeCount: 'bootstrap_node_count',
  connectionTimeMs: 'connection_time_ms',
  connectedPeers: 'connected_peers',
  packageId: 'package_id',
  packageVersion: 'package_version',
  announcementSizeBytes: 'announcement_size_bytes',
  latencyMs: 'latency_ms',
  recordSizeBytes: 'record_size_bytes',
  fanOut: 'fan_out',
  peersQueried: 'peers_queried',
  successfulResponses: 'successful_responses',
  queryLatencyMs: 'query_latency_ms',
  responseTimeMs: 'response_time_ms',
  result: 'result',
  newReputationScore: 'new_reputation_score',
  queryText: 'query_text',
  queryLimit: 'query_limit',
  categoryCount: 'category_count',
  tagCount: 'tag_count',
  localResults: 'local_results',
  dhtResults: 'dht_results',
  totalResults: 'total_results',
  peerCount: 'peer_count',
  dhtStorageSuccess: 'dht_storage_success',
  gossipsubSuccess: 'gossipsub_success',
  eventType: 'event_type',
  eventCategory: 'event_category',
  numEstablished: 'num_established',
  isDialer: 'is_dialer',
  cause: 'cause',
  /** Ours: the kind of request a peer answered (`search`, `versions`, `sync`). */
  requestType: 'request_type',
  /** Ours: number of records in an answer. */
  resultCount: 'result_count',
  /** Ours: whether a gossiped record was accepted. */
  accepted: 'accepted',
  /** Ours: the CID of a package's content. */
  cid: 'cid',
  /** Ours: size of a package's content (bytes). */
  bytes: 'bytes',
  /** Ours: peers that sent blocks of a fetched content (comma-separated peer ids). */
  peersContributing: 'peers_contributing',
  /** Ours, on `fetch_content`: `<peer id>=<block bytes>` for each peer that sent blocks. */
  bytesByPeer: 'bytes_by_peer',
  /** Ours: where fetched content came from: `local` (held here) or `peer`. */
  source: 'source',
  /** Ours, on `store_in_dht` events: which of a record's two DHT keys (`version` or `latest`). */
  dhtKey: 'dht_key'
} as const

/** Instrumentation scope of the node's tracer. */
export const TRACER_NAME = 'p2p-marketplace'
