import { PackageSearch } from './package-search.ts'
import { serviceParts } from './service-parts.ts'
import type { ServiceParts } from './service-parts.ts'
import { ContentNotFoundError } from '../content/errors.ts'
import { latestKey, versionKey } from './dht-records.ts'
import { signRecord } from '../package/record.ts'
import { PACKAGE_ID, parseManifest } from '../package/schema.ts'
import { NotAPublisherError } from '../errors.ts'
import { InvalidQueryError } from '../protocols/errors.ts'
import { InvalidManifestError } from '../package/errors.ts'
import type { FetchContentOptions, FetchedContent } from './package-content.ts'
import { ATTR, OPERATION, SPAN } from '../telemetry/schema.ts'
import { elapsedMs, globalTracer, inSpan } from '../telemetry/tracing.ts'
import type { OperationOptions } from '../telemetry/tracing.ts'
import type { PackageCatalog, SearchQuery } from '../catalog/catalog.ts'
import type { PackageManifest, PackageRecord } from '../package/schema.ts'
import type { ReputationBook } from './reputation.ts'
import type {
  MarketplaceServiceComponents,
  MarketplaceServiceInit,
  PublishOptions,
  PublishResult,
  SearchResult,
  SearchStream
} from '../index.ts'
import type { AbortOptions, Logger, PeerId, PrivateKey } from '@libp2p/interface'
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
  private readonly parts: ServiceParts
  private readonly searcher: PackageSearch
  private readonly log: Logger

  constructor(components: MarketplaceServiceComponents, init: MarketplaceServiceInit = {}) {
    const { libp2p, catalog, reputation, log } = components
    const tracer = components.tracer ?? globalTracer()
    this.libp2p = libp2p
    this.catalog = catalog
    this.reputation = reputation
    this.privateKey = components.privateKey
    this.tracer = tracer
    this.log = log
    this.parts = serviceParts({ ...components, tracer }, init)
    this.searcher = new PackageSearch({ catalog, fanOut: this.parts.fanOut, dht: this.parts.dht, tracer })
  }

  async start(): Promise<void> {
    this.parts.gossip.start()
    await this.parts.handler.start()
    this.parts.sync.start()
  }

  async stop(): Promise<void> {
    this.parts.sync.stop()
    this.parts.gossip.stop()
    await this.parts.handler.stop()
    await this.reputation.flush()
  }

  // ---------------------------------------------------------------- publish

  async publish(manifest: unknown, options: PublishOptions = {}): Promise<PublishResult> {
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
        if (valid.content != null) throw new InvalidManifestError([CONTENT_IS_SET_BY_PUBLISH])
        let record = await this.signChecked(valid, key, options)
        // content is imported only for a record that passed the rules, and then signed with it
        const content =
          options.content != null
            ? await this.parts.contents.store(options.content, { ...options, parent })
            : undefined
        try {
          if (content != null)
            record = await this.signChecked(parseManifest({ ...valid, content }), key, options)
          await this.catalog.add(record, 'local')
          if (content != null) this.parts.contents.kept(content)
        } catch (err) {
          if (content != null)
            await this.parts.contents
              .drop(content)
              .catch((dropErr: unknown) =>
                this.log.error('dropping the content of a failed publish failed - %e', dropErr)
              )
          throw err
        }
        const [dhtStored, announced] = await Promise.all([
          this.parts.dht.store(record, { parent, signal: options.signal }),
          this.parts.gossip.announce(record, { parent })
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
          traceId: span.spanContext().traceId,
          ...(record.content != null ? { content: record.content } : {})
        }
      }
    )
  }

  /** `record` signed with this node's key and checked against the catalog's rules and names. */
  private async signChecked(
    manifest: PackageManifest,
    key: PrivateKey,
    options: AbortOptions
  ): Promise<PackageRecord> {
    const record = await signRecord(manifest, key)
    this.catalog.check(record)
    await this.catalog.prove(record, options)
    options.signal?.throwIfAborted()
    return record
  }

  /** The content of a package (its latest version unless `version`), verified, from here or peers. */
  async fetchContent(
    id: string,
    version?: string,
    options: FetchContentOptions = {}
  ): Promise<FetchedContent> {
    const record = await this.getPackage(id, version, options)
    if (record == null)
      throw new ContentNotFoundError(
        `${id}${version != null ? `@${version}` : ''}: no such package here, in the DHT or at the peers asked`
      )
    return await this.parts.contents.fetch(record, options)
  }

  // ---------------------------------------------------------------- search

  /** Ranked search: local index, a parallel fan-out to reputable peers, and the DHT for an exact id. */
  async search(query: SearchQuery, options: OperationOptions = {}): Promise<SearchResult> {
    return await this.searcher.search(query, options)
  }

  /** The same search as it goes: local results at once, then one batch per answering source. */
  searchStream(query: SearchQuery, options: OperationOptions = {}): SearchStream {
    return this.searcher.stream(query, options)
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
    const fromDht = await this.parts.dht.lookup(
      version == null ? latestKey(id) : versionKey(id, version),
      options
    )
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
    const { peers } = await this.parts.fanOut.choosePeers()
    await this.parts.fanOut.query({ type: 'versions', id }, peers, {
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
    return await this.parts.sync.syncWith(peer, options)
  }
}

const CONTENT_IS_SET_BY_PUBLISH = {
  field: 'content',
  message: 'is set by publish from the content it is given (options.content); leave it out of the manifest'
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
