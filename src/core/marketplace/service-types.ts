import type { GossipReplays } from './gossip-replays.ts'
import type { SyncScope } from './catalog-sync.ts'
import type { PackageCatalog } from '../catalog/catalog.ts'
import type { NameStanding } from '../package/names.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { ReputationBook } from './reputation.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, Logger, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Tracer } from '@opentelemetry/api'
import type { Datastore } from 'interface-datastore'

/* The contract of the marketplace service: what its operations return, its options, its parts. */

export interface PublishResult {
  id: string
  version: string
  /** At least one DHT server acknowledged storing the record. */
  dhtStored: boolean
  /** The gossip announcement reached at least one peer. */
  announced: boolean
  traceId: string
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
}
