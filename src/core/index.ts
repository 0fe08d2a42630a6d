/**
 * The public contract of a marketplace node, in one place as js-libp2p packages keep theirs: the
 * node's state, status, peers, events and options, what its operations return, the service's
 * options and parts; then the factories, classes, errors and constants that implement it.
 */
import type { PackageCatalog, PackageEvent } from './catalog/catalog.ts'
import type { RuntimeConfig } from './config.ts'
import type { PeerTraffic } from './content/bitswap-traffic.ts'
import type { SyncScope } from './marketplace/catalog-sync.ts'
import type { GossipReplays } from './marketplace/gossip-replays.ts'
import type { NameProofsInit } from './marketplace/name-proofs.ts'
import type { ReputationBook } from './marketplace/reputation.ts'
import type { DirectDialState } from './network/direct-connector.ts'
import type { IceCheck } from './network/ice-check.ts'
import type { IceInfo, IcePath } from './network/ice-path.ts'
import type { RelayState } from './network/relay-keeper.ts'
import type { NameStanding } from './package/names.ts'
import type { PackageRecord } from './package/schema.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, Logger, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Tracer, TracerProvider } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { Datastore } from 'interface-datastore'
import type { ContentInput, ContentStoreInit } from './content/content-store.ts'
import type { Blockstore } from 'interface-blockstore'
import type { ContentStoreLike } from './marketplace/package-content.ts'
import type { OperationOptions } from './telemetry/tracing.ts'

export { createMarketplaceNode, MarketplaceNode } from './marketplace/marketplace-node.ts'
export { transportOf, isDirectWebRTC } from './network/connection-info.ts'
export { fetchRuntimeConfig, parseRuntimeConfig } from './config.ts'
export type { RuntimeConfig } from './config.ts'
export type { IceCheck, IceCheckError } from './network/ice-check.ts'
export {
  InsecureRelayError,
  InvalidConfigError,
  InvalidIdentityError,
  InvalidIdentityFileError,
  WrongPassphraseError,
  NodeStoppedError,
  TemporaryKeyError,
  NotAPublisherError
} from './errors.ts'
export { loadOrCreateIdentity } from './identity.ts'
export { exportIdentity, importIdentity, MIN_PASSPHRASE_LENGTH } from './identity-file.ts'
export { DHT_PROTOCOL, DISCOVERY_TOPIC, PACKAGES_TOPIC, RUNTIME_CONFIG_PATH } from './constants.ts'
export { reputationScore, ReputationBook } from './marketplace/reputation.ts'
export type { MarketplaceServices } from './network/libp2p-options.ts'
export { MarketplaceService, marketplaceService } from './marketplace/marketplace-service.ts'
export type { OperationOptions } from './telemetry/tracing.ts'
export {
  ContentMismatchError,
  ContentNotFoundError,
  ContentTooLargeError,
  UnwantedBlockError
} from './content/errors.ts'
export type { PeerTraffic } from './content/bitswap-traffic.ts'
export type { ContentInput, ContentProgress, ContentStoreInit } from './content/content-store.ts'
export type { FetchedContent, FetchContentOptions } from './marketplace/package-content.ts'
export { SEARCH_PROTOCOL, SYNC_PROTOCOL, PROTOCOL_LIMITS } from './protocols/messages.ts'
export { InvalidQueryError, ProtocolError } from './protocols/errors.ts'
export { PackageCatalog } from './catalog/catalog.ts'
export type { PackageEvent, SearchQuery } from './catalog/catalog.ts'
export {
  InvalidManifestError,
  InvalidRecordError,
  NameUnprovenError,
  NamespaceOwnedError,
  VersionConflictError
} from './package/errors.ts'
export { keyNamespaceOf, namespaceKind } from './package/names.ts'
export type { NamespaceKind, NameStanding } from './package/names.ts'
export { NameProofs, DEFAULT_NAME_PROOF_URL } from './marketplace/name-proofs.ts'
export type { NameProofsInit, ProofFetch } from './marketplace/name-proofs.ts'
export { manifestSchema, parseManifest, LIMITS, MAX_CLOCK_SKEW_MS } from './package/schema.ts'
export type { PackageManifest, PackageRecord } from './package/schema.ts'
export { decodeRecord, encodeRecord, signRecord, verifyRecord } from './package/record.ts'

// ------------------------------------------------------------------ the node

export type NodeState = 'starting' | 'bootstrapping' | 'online' | 'offline'

/** `status()` of the contract, plus what a UI needs to explain it. */
export interface NodeStatus {
  state: NodeState
  /** Relays holding a reservation for us. */
  relays: number
  /** Connected peers other than relays. */
  peers: number
  /** Of those, peers with a direct (WebRTC) connection. */
  directPeers: number
  /** One line saying what the node is doing, e.g. "dialing relay (attempt 3)". */
  progress: string
  /** Per-relay connection and reservation state. */
  relayStates: RelayState[]
  /**
   * What this node's check of the runtime config's STUN/TURN servers found (in a browser, when
   * there are any): run in the background once libp2p has started.
   */
  ice?: IceCheck
}

/** One connected peer, as `peers()` reports it. */
export interface PeerSummary {
  peerId: string
  /** A direct connection (not through a relay) is open. */
  direct: boolean
  /** Transport of the best open connection: `webrtc`, `websockets`, `circuit-relay`, `memory`, … */
  transport: string
  /** 0..1, the seed formula fed by our requests to this peer. */
  reputation: number
  avgResponseMs?: number
  /** The peer is one of our relays. */
  relay: boolean
  /**
   * For a direct WebRTC connection, the way its packets go, from the selected ICE candidate pair:
   * `relay` through a TURN server, `srflx`/`prflx` through NAT mappings, `host` on one network.
   */
  path?: IcePath
  /** The selected pair's candidate types and round-trip time, when known. */
  ice?: IceInfo
  /**
   * For a tab that is not direct yet: why (the last dial's error and its class), how many
   * dials were made, and when the next one is due (epoch ms).
   */
  upgrade?: DirectDialState
  /**
   * Package content exchanged with the peer over Bitswap: bytes this node served it (`sent`),
   * bytes it served this node (`received`), and blocks it sent that were never asked for
   * (`unwanted`: altered or unsolicited; each costs it reputation). Absent until content moved.
   */
  content?: PeerTraffic
}

export interface PeerChange {
  peerId: string
  /**
   * `upgrading`: the peer is still relayed and its upgrade to a direct connection moved on
   * (a dial started or failed; `peers()[].upgrade` says where it stands). `path`: the ICE path
   * of a new direct WebRTC connection is known (`peers()[].path`).
   */
  change: 'connected' | 'upgraded' | 'downgraded' | 'disconnected' | 'upgrading' | 'path'
}

/** Milestones of a node's start-up, in ms since the node was created (`performance.now()` clock). */
export interface NodeTimings {
  createdAt: number
  startedAt?: number
  relayConnectedAt?: number
  onlineAt?: number
  firstDirectAt?: number
}

export interface MarketplaceEvents {
  status: CustomEvent<NodeStatus>
  peer: CustomEvent<PeerChange>
  /** A new valid package record arrived (published here, gossiped, synced or found). */
  package: CustomEvent<PackageEvent>
  /** A span of this node ended (for live trace views). */
  span: CustomEvent<ReadableSpan>
}

/** Options of {@link createMarketplaceNode}. */
export interface MarketplaceNodeInit {
  /** Runtime configuration, as served by a relay. Either this or `configUrl`. */
  config?: RuntimeConfig
  /** URL of a relay (its HTTP origin) or of its `/config.json`. */
  configUrl?: string
  /** Where the node keeps its identity and state. @default an in-memory datastore */
  datastore?: Datastore
  /** Identity to use instead of the one stored in `datastore`. */
  privateKey?: PrivateKey
  /**
   * The key is a temporary one (a second tab: another holds this browser's identity). Such a node
   * publishes only with `publish(…, { temporaryKey: true })`, so a throwaway key never takes a
   * name by accident. @default false
   */
  temporaryKey?: boolean
  /** Discovery announcement interval (ms). @default 1000 */
  discoveryIntervalMs?: number
  /** Search fan-out, timeouts and sync pacing. */
  service?: MarketplaceServiceInit
  /** How domain namespaces' publisher lists are read (the runtime config's `nameProofUrl` wins). */
  nameProofs?: NameProofsInit
  /**
   * Package content: where its blocks are kept (IndexedDB in a tab; pins go to `datastore`),
   * the largest content taken, how long a fetch waits for a block. @default blocks in memory
   */
  content?: ContentStoreInit & { blockstore?: Blockstore }
  /**
   * Where the node's tracer comes from: an OpenTelemetry API provider the caller assembled and
   * owns (the app's `WebTracerProvider`, the relay's, `createTracedMarketplaceNode`'s). The node
   * never starts or shuts one down. @default the global provider (`trace.getTracerProvider()`),
   * a no-op until an SDK is registered
   */
  tracerProvider?: TracerProvider
  /** Ended spans announced here (`SpanEventProcessor` of `src/otel`) become this node's `span` events. */
  spanEvents?: SpanSource
}

/** Something that announces ended spans as `span` events whose detail is the span. */
export type SpanSource = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>

// --------------------------------------------------------------- the service

export interface PublishResult {
  id: string
  version: string
  /** At least one DHT server acknowledged storing the record. */
  dhtStored: boolean
  /** The gossip announcement reached at least one peer. */
  announced: boolean
  traceId: string
  /** The content published with it (`options.content`), as its record describes it. */
  content?: NonNullable<PackageRecord['content']>
}

/**
 * A search result: the record, where it came from, and how its name stands (a verified domain, a
 * key namespace, or a plain name; whether it looks like a verified name it is not).
 */
export type SearchHit = PackageRecord & {
  source: 'local' | 'peer' | 'dht'
  from?: string
  name: NameStanding
}

/** `searchStream`'s steps, until every source answered or timed out. */
export type SearchStream = AsyncGenerator<SearchBatch, void, undefined>

/** One step of `searchStream`: the local results, or what one peer's answer (or the DHT) brought. */
export interface SearchBatch {
  packages: SearchHit[]
  source: 'local' | 'peer' | 'dht'
  /** The peer that answered (for `peer` and `dht`). */
  from?: string
}

export interface SearchResult {
  packages: SearchHit[]
  /** Results this node already had. */
  localResults: number
  /** Results that arrived from peers or the DHT during this search. */
  dhtResults: number
  /** Number of peers asked (the fan-out). */
  peersQueried: number
  traceId: string
}

export interface MarketplaceServiceInit {
  /** Peers asked in parallel per search. @default 3 */
  fanOut?: number
  /** A search stops waiting once this many peers answered. @default 2 */
  enoughAnswers?: number
  /** Per-peer timeout of a search request, ms (a sync page gets three times as long). @default 2000 */
  peerTimeoutMs?: number
  /** Timeout of a DHT lookup or store, ms. @default 5000 */
  dhtTimeoutMs?: number
  /** After the first peer answered, how long (ms) a search still waits for the others. @default 150 */
  graceMs?: number
  /** A peer is synced with at most this often, ms. @default 30000 */
  resyncAfterMs?: number
  /** What is taken from each peer's catalog (see `SyncScope`). @default 'all' for every peer */
  syncScope?: (peerId: string) => SyncScope
}

/** Options of `publish`: cancellation, the caller's trace context, and the package's content. */
export interface PublishOptions extends OperationOptions {
  /** The artifact: imported into the content store and described (CID, size) in the signed record. */
  content?: ContentInput
  /** Publish although the node runs on a temporary key (`MarketplaceNodeInit.temporaryKey`). */
  temporaryKey?: boolean
}

export interface MarketplaceServiceComponents {
  libp2p: Libp2p<{ pubsub: GossipSub; dht: KadDHT }>
  catalog: PackageCatalog
  reputation: ReputationBook
  datastore: Datastore
  /** The publisher key; a node without one (the relay) cannot publish. */
  privateKey?: PrivateKey
  /**
   * Where replays on the packages topic are counted: the same instance whose
   * `appSpecificScore` the node's gossipsub was given, so replays lower the
   * sender's gossipsub score. @default one of its own, which scores nobody
   */
  gossipReplays?: GossipReplays
  log: Logger
  /** @default the global tracer */
  tracer?: Tracer
  /** The content store, created on first use (a node without one publishes and fetches no content). */
  content?: () => Promise<ContentStoreLike>
}
