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
import { elapsedMs, globalTracer, inSpan } from '../telemetry/tracing.ts'
import type { OperationOptions } from '../telemetry/tracing.ts'
import type { PackageCatalog, SearchQuery } from '../catalog/catalog.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { OnRecordsAdded } from './record-intake.ts'
import type { ReputationBook } from './reputation.ts'
import type {
  MarketplaceServiceComponents,
  MarketplaceServiceInit,
  PublishResult,
  SearchHit,
  SearchResult
} from '../index.ts'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'
import { ROOT_CONTEXT } from '@opentelemetry/api'
import type { Tracer } from '@opentelemetry/api'

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

  async publish(manifest: unknown, options: OperationOptions = {}): Promise<PublishResult> {
    const key = this.privateKey
    if (key == null) throw new NotAPublisherError()
    return await inSpan(
      this.tracer,
      SPAN.publish,
      { [ATTR.operation]: OPERATION.publish, [ATTR.peerId]: this.libp2p.peerId.toString() },
      options.parent,
      async (span, parent) => {
        const start = performance.now()
        // everything that can refuse the publish runs before anything is stored
        const valid = parseManifest(manifest)
        span.setAttributes({ [ATTR.packageId]: valid.id, [ATTR.packageVersion]: valid.version })
        const record = await signRecord(valid, key)
        this.catalog.check(record)
        await this.catalog.prove(record, options)
        options.signal?.throwIfAborted()

        await this.catalog.add(record, 'local')
        const [dhtStored, announced] = await Promise.all([
          this.dht.store(record, { parent, signal: options.signal }),
          this.gossip.announce(record, { parent })
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

  async search(query: SearchQuery, options: OperationOptions = {}): Promise<SearchResult> {
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
    return await inSpan(this.tracer, SPAN.search, attributes, options.parent, async (span, parent) => {
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
        ? this.dht.lookup(latestKey(id), {
            signal: AbortSignal.any([dhtCancel.signal, ...(options.signal != null ? [options.signal] : [])]),
            onAdded: remember
          })
        : undefined
      await this.fanOut.query({ type: 'search', query: q }, peers, {
        parent,
        signal: options.signal,
        onAdded: remember
      })
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
    options: OperationOptions = {}
  ): Promise<PackageRecord | undefined> {
    checkId(id)
    const local = this.catalog.get(id, version)
    if (local != null) return local
    const fromDht = await this.dht.lookup(version == null ? latestKey(id) : versionKey(id, version), options)
    if (fromDht != null && (version == null || fromDht.version === version)) return fromDht
    await this.askForVersions(id, options)
    return this.catalog.get(id, version)
  }

  /** Every version of a package known here or to the peers asked, highest first. */
  async listVersions(id: string, options: OperationOptions = {}): Promise<string[]> {
    checkId(id)
    await this.askForVersions(id, options)
    return this.catalog.listVersions(id)
  }

  /** Adds every version of `id` the fan-out's peers know to the catalog (a trace of its own unless `parent`). */
  private async askForVersions(id: string, options: OperationOptions): Promise<void> {
    const { peers } = await this.fanOut.choosePeers()
    await this.fanOut.query({ type: 'versions', id }, peers, {
      ...options,
      parent: options.parent ?? ROOT_CONTEXT
    })
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

/**
 * The marketplace service's factory, in the shape of js-libp2p's (`kadDHT(init)(components)`):
 * options first, the parts it runs on when the caller has them (a tab's node, the relay, the
 * simulation).
 */
export function marketplaceService(
  init: MarketplaceServiceInit = {}
): (components: MarketplaceServiceComponents) => MarketplaceService {
  return components => new MarketplaceService(components, init)
}
