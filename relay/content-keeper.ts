import { join } from 'node:path'
import { LevelBlockstore } from 'blockstore-level'
import { Key } from 'interface-datastore'
import { ContentNotFoundError } from '../src/core/content/errors.ts'
import { describeError } from '../src/core/errors.ts'
import { lazyContentStore } from '../src/core/marketplace/package-content.ts'
import type { PackageCatalog, PackageEvent } from '../src/core/catalog/catalog.ts'
import type { PeerTraffic } from '../src/core/content/bitswap-traffic.ts'
import type { ContentStoreLike, LazyContentStore } from '../src/core/marketplace/package-content.ts'
import type { PeerFeedback } from '../src/core/marketplace/peer-feedback.ts'
import type { PackageRecord } from '../src/core/package/schema.ts'
import type { Libp2p, Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** What the relay keeps of package content, and how it judged the rest. */
export interface ContentKeeperStats {
  /** Artifacts kept, and their bytes. */
  kept: number
  bytes: number
  /** `CONTENT_QUOTA`, `CONTENT_MAX_BYTES` and `CONTENT_QUOTA_PER_PUBLISHER`. */
  quota: number
  maxBytes: number
  perPublisher: number
  /** Waiting to be fetched (one at a time), and their bytes (counted against the quota). */
  pending: number
  /**
   * Not kept: over `maxBytes`, past the quota (the policy when full: keep what is held, take
   * nothing new), past its publisher's share (`publisherFull`), or failed to arrive.
   */
  refused: { tooLarge: number; full: number; publisherFull: number }
  failed: number
  /** Content bytes served to peers over Bitswap, and blocks peers sent that were never asked for. */
  readonly served: number
  readonly unwantedBlocks: number
}

/** Where each kept artifact is noted: `<prefix>/<cid>` → `<decimal bytes> <publisher>`. */
const KEPT = '/content-kept'

/** Artifacts waiting at most: past it, new ones are counted as `full`. */
const MAX_PENDING = 1_000

/**
 * The relay keeps every package's content it hears of (gossip, sync, DHT, search), so content
 * stays reachable after its publisher leaves: blocks in `DATA_DIR/blocks` (LevelDB), fetched over
 * Bitswap one artifact at a time, each at most `maxBytes`, all together at most `quota`. When
 * full it keeps what it holds and takes nothing new; `/healthz` shows use and refusals.
 */
export class ContentKeeper {
  readonly stats: ContentKeeperStats
  private readonly catalog: PackageCatalog
  private readonly datastore: Datastore
  private readonly blockstore: LevelBlockstore
  private store?: LazyContentStore
  private readonly libp2p: Libp2p
  private readonly feedback: Pick<PeerFeedback, 'failure'>
  private readonly log: Logger
  private readonly known = new Set<string>()
  private queue: Promise<void> = Promise.resolve()
  private pendingBytes = 0
  /** Bytes kept or waiting per publisher key. */
  private readonly byPublisher = new Map<string, number>()
  /** Aborted at stop: a fetch under way gives up at once. */
  private readonly stopping = new AbortController()

  constructor(
    components: {
      libp2p: Libp2p
      catalog: PackageCatalog
      datastore: Datastore
      dataDir: string
      /** Blames peers that send blocks the relay never asked for. */
      feedback: Pick<PeerFeedback, 'failure'>
    },
    init: { quota: number; maxBytes: number; perPublisher: number }
  ) {
    this.catalog = components.catalog
    this.datastore = components.datastore
    this.log = components.libp2p.logger.forComponent('marketplace:relay-content')
    this.blockstore = new LevelBlockstore(join(components.dataDir, 'blocks'))
    this.libp2p = components.libp2p
    this.feedback = components.feedback
    const traffic = (): PeerTraffic[] => [...(this.store?.traffic().values() ?? [])]
    this.stats = {
      kept: 0,
      bytes: 0,
      quota: init.quota,
      maxBytes: init.maxBytes,
      perPublisher: init.perPublisher,
      pending: 0,
      refused: { tooLarge: 0, full: 0, publisherFull: 0 },
      failed: 0,
      get served() {
        return traffic().reduce((sum, t) => sum + t.sent, 0)
      },
      get unwantedBlocks() {
        return traffic().reduce((sum, t) => sum + t.unwanted, 0)
      }
    }
  }

  /** The content store, for the marketplace service (the relay serves what it keeps). */
  get contentStore(): () => Promise<ContentStoreLike> {
    return async () => {
      if (this.store == null)
        throw new ContentNotFoundError('the relay keeps no content until it has started')
      return await this.store.get()
    }
  }

  /** Opens the blocks, counts what is kept, starts Bitswap and keeps what the catalog holds and hears of. */
  async start(): Promise<void> {
    await this.blockstore.open()
    this.store = lazyContentStore(
      { libp2p: this.libp2p, datastore: this.datastore, feedback: this.feedback },
      { blockstore: this.blockstore, maxBytes: this.stats.maxBytes }
    )
    for await (const { key, value } of this.datastore.query({ prefix: KEPT })) {
      // `<size> <publisher>`; an entry from before publishers were noted has the size alone
      const [size = '0', publisher = ''] = new TextDecoder().decode(value).split(' ')
      this.known.add(key.baseNamespace())
      this.stats.kept++
      this.stats.bytes += Number(size)
      this.charge(publisher, Number(size))
    }
    await this.store.get()
    this.catalog.addEventListener('package', this.onPackage)
    for (const record of this.catalog.since(0, Number.MAX_SAFE_INTEGER).records) this.consider(record)
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    this.catalog.removeEventListener('package', this.onPackage)
    await this.queue
    await this.store?.stop()
    await this.blockstore.close()
  }

  /** Resolves once every artifact waiting now was kept or given up. */
  async idle(): Promise<void> {
    await this.queue
  }

  private readonly onPackage = (evt: CustomEvent<PackageEvent>): void => {
    this.consider(evt.detail.record)
  }

  private consider(record: PackageRecord): void {
    const content = record.content
    if (content == null || this.known.has(content.cid) || this.stopping.signal.aborted) return
    this.known.add(content.cid)
    if (content.size > this.stats.maxBytes) {
      this.stats.refused.tooLarge++
      return
    }
    if (
      this.stats.bytes + this.pendingBytes + content.size > this.stats.quota ||
      this.stats.pending >= MAX_PENDING
    ) {
      this.stats.refused.full++
      return
    }
    // one key cannot take the whole quota (N keys still can: PROTOCOL.md §10)
    if ((this.byPublisher.get(record.publisher) ?? 0) + content.size > this.stats.perPublisher) {
      // a record of another publisher naming the same content may still bring it in
      this.known.delete(content.cid)
      this.stats.refused.publisherFull++
      return
    }
    this.stats.pending++
    this.pendingBytes += content.size
    this.charge(record.publisher, content.size)
    this.queue = this.queue.then(async () => await this.keep(record, content.cid, content.size))
  }

  private async keep(record: PackageRecord, cid: string, size: number): Promise<void> {
    try {
      if (this.stopping.signal.aborted) return
      await (await this.contentStore()).keep(cid, { size, signal: this.stopping.signal })
      await this.datastore.put(
        new Key(`${KEPT}/${cid}`),
        new TextEncoder().encode(`${size} ${record.publisher}`)
      )
      this.stats.kept++
      this.stats.bytes += size
    } catch (err) {
      if (this.stopping.signal.aborted) return
      // another record naming it, or this one heard again, may try again
      this.known.delete(cid)
      this.charge(record.publisher, -size)
      this.stats.failed++
      this.log.error('the content of %s (%s) was not kept - %s', record.id, cid, describeError(err))
    } finally {
      this.stats.pending--
      this.pendingBytes -= size
    }
  }

  /** Adds `bytes` (negative: takes them back) to what `publisher` holds here. */
  private charge(publisher: string, bytes: number): void {
    const total = (this.byPublisher.get(publisher) ?? 0) + bytes
    if (total > 0) this.byPublisher.set(publisher, total)
    else this.byPublisher.delete(publisher)
  }
}
