import { CatalogSync } from './catalog-sync.ts'
import { latestKey, versionKey } from './dht-records.ts'
import { PackageGossip } from './gossip.ts'
import { GossipReplays } from './gossip-replays.ts'
import { signRecord } from '../package/record.ts'
import { PACKAGE_ID, describeIssues, parseManifest } from '../package/schema.ts'
import { PackageDht } from './package-dht.ts'
import { PeerFeedback } from './peer-feedback.ts'
import { ProtocolHandler } from './protocol-handler.ts'
import { NotAPublisherError } from '../errors.ts'
import { InvalidQueryError } from '../protocols/errors.ts'
import { searchQuerySchema } from '../protocols/messages.ts'
import { SearchFanOut } from './search-fanout.ts'
import { ATTR, OPERATION, SPAN } from '../telemetry/schema.ts'
import { contextFrom, elapsedMs, globalTracer, inSpan } from '../telemetry/tracing.ts'
import type { PackageCatalog, SearchQuery } from '../catalog/catalog.ts'
import type { SyncScope } from './catalog-sync.ts'
import type { NameStanding } from '../package/names.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { OnRecordsAdded } from './record-intake.ts'
import type { ReputationBook } from './reputation.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, Libp2p, Logger, PeerId, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Tracer } from '@opentelemetry/api'
import type { Datastore } from 'interface-datastore'

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

/**
 * The marketplace on top of libp2p: publishing signed records (local store,
 * DHT, gossip), searching (local index, parallel fan-out to reputable peers,
 * DHT by exact id) and looking up packages and their versions. It assembles
 * the parts that run alongside: gossip ({@link PackageGossip}), catalog sync
 * ({@link CatalogSync}) and the search/sync protocol handlers
 * ({@link ProtocolHandler}). Runs in tabs and on the relay.
 */
export class MarketplaceService {
  private readonly libp2p: MarketplaceServiceComponents['libp2p']
  private readonly catalog: PackageCatalog
  private readonly reputation: ReputationBook
  private readonly privateKey?: PrivateKey
  private readonly tracer: Tracer
  private readonly dht: PackageDht
  private readonly fanOut: SearchFanOut
  private readonly gossip: PackageGossip
  private readonly sync: CatalogSync
  private readonly handler: ProtocolHandler

  constructor(components: MarketplaceServiceComponents, init: MarketplaceServiceInit = {}) {
    const { libp2p, catalog, reputation, datastore, log } = components
    const tracer = components.tracer ?? globalTracer()
    const peerTimeoutMs = init.peerTimeoutMs ?? 2_000
    const feedback = new PeerFeedback({ reputation, tracer })
    this.libp2p = libp2p
    this.catalog = catalog
    this.reputation = reputation
    this.privateKey = components.privateKey
    this.tracer = tracer
    this.dht = new PackageDht(
      { libp2p, catalog, feedback, log, tracer },
      { timeoutMs: init.dhtTimeoutMs ?? 5_000 }
    )
    this.fanOut = new SearchFanOut(
      { libp2p, catalog, reputation, feedback, tracer },
      {
        fanOut: init.fanOut ?? 3,
        enoughAnswers: init.enoughAnswers ?? 2,
        peerTimeoutMs,
        graceMs: init.graceMs ?? 150
      }
    )
    this.gossip = new PackageGossip({
      pubsub: libp2p.services.pubsub,
      catalog,
      feedback,
      replays: components.gossipReplays ?? new GossipReplays(),
      log,
      tracer
    })
    this.sync = new CatalogSync(
      { libp2p, catalog, datastore, feedback, log },
      {
        pageTimeoutMs: peerTimeoutMs * 3,
        resyncAfterMs: init.resyncAfterMs ?? 30_000,
        ...(init.syncScope != null ? { scope: init.syncScope } : {})
      }
    )
    this.handler = new ProtocolHandler({ libp2p, catalog, tracer })
  }

  async start(): Promise<void> {
    this.gossip.start()
    await this.handler.start()
    this.sync.start()
  }

  async stop(): Promise<void> {
    this.sync.stop()
    this.gossip.stop()
    await this.handler.stop()
    await this.reputation.flush()
  }

  // ---------------------------------------------------------------- publish

  async publish(manifest: unknown, options: AbortOptions = {}): Promise<PublishResult> {
    const key = this.privateKey
    if (key == null) throw new NotAPublisherError()
    return await inSpan(
      this.tracer,
      SPAN.publish,
      { [ATTR.operation]: OPERATION.publish, [ATTR.peerId]: this.libp2p.peerId.toString() },
      undefined,
      async (span, ctx) => {
        const start = performance.now()
        // everything that can refuse the publish runs before anything is stored
        const valid = parseManifest(manifest)
        span.setAttributes({ [ATTR.packageId]: valid.id, [ATTR.packageVersion]: valid.version })
        const record = await signRecord(valid, key)
        this.catalog.check(record)
        await this.catalog.prove(record)
        options.signal?.throwIfAborted()

        await this.catalog.add(record, 'local')
        const [dhtStored, announced] = await Promise.all([
          this.dht.store(record, ctx, options.signal),
          this.gossip.announce(record, ctx)
        ])
        span.setAttributes({
          [ATTR.dhtStorageSuccess]: dhtStored,
          [ATTR.gossipsubSuccess]: announced,
          [ATTR.latencyMs]: elapsedMs(start)
        })
        return {
          id: record.id,
          version: record.version,
          dhtStored,
          announced,
          traceId: span.spanContext().traceId
        }
      }
    )
  }

  // ---------------------------------------------------------------- search

  async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchResult> {
    const parsed = searchQuerySchema.safeParse(query)
    if (!parsed.success) throw new InvalidQueryError(`invalid search query: ${describeIssues(parsed.error)}`)
    const q = parsed.data
    const attributes = {
      [ATTR.operation]: OPERATION.p2pSearch,
      [ATTR.queryText]: q.text,
      [ATTR.queryLimit]: q.limit ?? 20,
      [ATTR.categoryCount]: q.categories?.length ?? 0,
      [ATTR.tagCount]: q.tags?.length ?? 0
    }
    return await inSpan(this.tracer, SPAN.search, attributes, undefined, async (span, ctx) => {
      const start = performance.now()
      // records this search brings in are remembered with where they came from;
      // everything else in the final ranking was already here
      const sources = new Map<string, { source: SearchHit['source']; from?: string }>()
      const remember: OnRecordsAdded = (records, source, from) => {
        for (const r of records) if (!sources.has(r.id)) sources.set(r.id, { source, from })
      }

      const { available, peers } = await this.fanOut.choosePeers()
      span.setAttributes({ [ATTR.peerCount]: available, [ATTR.fanOut]: peers.length })
      const id = q.text.trim()
      // an exact id is also looked up in the DHT, unless this node or the
      // fan-out already has it (the DHT is the slowest source by far)
      const exact = PACKAGE_ID.test(id) && this.catalog.get(id) == null
      const dhtCancel = new AbortController()
      const dht = exact
        ? this.dht.lookup(
            latestKey(id),
            AbortSignal.any([dhtCancel.signal, ...(options.signal != null ? [options.signal] : [])]),
            remember
          )
        : undefined
      await this.fanOut.query({ type: 'search', query: q }, peers, id, ctx, options.signal, remember)
      if (exact && this.catalog.get(id) != null) dhtCancel.abort()
      await dht

      const { records } = this.catalog.search(q)
      const packages = records.map(record => ({
        ...record,
        ...(sources.get(record.id) ?? { source: 'local' as const }),
        name: this.catalog.standing(record)
      }))
      const localResults = packages.filter(p => p.source === 'local').length
      const result: SearchResult = {
        packages,
        localResults,
        dhtResults: packages.length - localResults,
        peersQueried: peers.length,
        traceId: span.spanContext().traceId
      }
      span.setAttributes({
        [ATTR.localResults]: localResults,
        [ATTR.dhtResults]: result.dhtResults,
        [ATTR.totalResults]: packages.length,
        [ATTR.latencyMs]: elapsedMs(start)
      })
      return result
    })
  }

  // ------------------------------------------------------ getPackage / listVersions

  /** A package (its latest version unless `version`): from the catalog, else the DHT, else the peers. */
  async getPackage(
    id: string,
    version?: string,
    options: AbortOptions = {}
  ): Promise<PackageRecord | undefined> {
    checkId(id)
    const local = this.catalog.get(id, version)
    if (local != null) return local
    const fromDht = await this.dht.lookup(
      version == null ? latestKey(id) : versionKey(id, version),
      options.signal
    )
    if (fromDht != null && (version == null || fromDht.version === version)) return fromDht
    await this.askForVersions(id, options.signal)
    return this.catalog.get(id, version)
  }

  /** Every version of a package known here or to the peers asked, highest first. */
  async listVersions(id: string, options: AbortOptions = {}): Promise<string[]> {
    checkId(id)
    await this.askForVersions(id, options.signal)
    return this.catalog.listVersions(id)
  }

  /** Adds every version of `id` the fan-out's peers know to the catalog (a trace of its own). */
  private async askForVersions(id: string, signal?: AbortSignal): Promise<void> {
    const { peers } = await this.fanOut.choosePeers()
    await this.fanOut.query({ type: 'versions', id }, peers, id, contextFrom(undefined), signal)
  }

  // ------------------------------------------------------------------ sync

  /**
   * Pulls the records `peer` has that this node lacks, by cursor ({@link CatalogSync.syncWith});
   * nodes sync with their peers on their own, the relay also with its peer relays.
   */
  async syncWith(peer: PeerId, options: AbortOptions & { force?: boolean } = {}): Promise<number> {
    return await this.sync.syncWith(peer, options)
  }
}

function checkId(id: string): void {
  if (typeof id !== 'string' || !PACKAGE_ID.test(id)) {
    throw new InvalidQueryError(
      `id: "${String(id)}" is not a package id ("namespace/name" in lowercase letters, digits, ".", "_" or "-")`
    )
  }
}
