import { TypedEventEmitter } from 'main-event'
import { CatalogSearch } from './catalog-search.ts'
import { CatalogStore } from './catalog-store.ts'
import { checkRecord, checkRoom, proveRecord } from './catalog-rules.ts'
import { DEFAULT_CATALOG_LIMITS } from './catalog-types.ts'
import { HeldRecords } from './held-records.ts'
import { NameRanks } from './name-ranks.ts'
import type {
  CatalogEvents,
  CatalogInit,
  CatalogLimits,
  CatalogLoadReport,
  RecordSource,
  SearchQuery
} from './catalog-types.ts'
import type { NameStanding } from '../package/names.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { Datastore } from 'interface-datastore'
import type { AbortOptions } from '@libp2p/interface'

export { DEFAULT_CATALOG_LIMITS, DEFAULT_LIMIT, MAX_LIMIT } from './catalog-types.ts'
export type {
  CatalogEvents,
  CatalogInit,
  CatalogLimits,
  CatalogLoadReport,
  PackageEvent,
  RecordSource,
  SearchQuery
} from './catalog-types.ts'

/**
 * Every package record this node knows: persisted in its datastore ({@link CatalogStore}), indexed
 * for ranked full-text search (MiniSearch, {@link CatalogSearch}) over the latest version of each
 * package, with the marketplace's rules (PROTOCOL.md §3, {@link checkRecord}): a key namespace is
 * its key's, a domain namespace is the keys its domain lists, a plain namespace belongs to the
 * first key seen publishing in it; a version is immutable, and versions only move forward (semver
 * order agrees with publication order). Results rank proven names (domain, then key) above plain
 * ones ({@link NameRanks}).
 *
 * Records must be verified (`decodeRecord`) before they are added.
 */
export class PackageCatalog extends TypedEventEmitter<CatalogEvents> {
  private readonly store: CatalogStore
  private readonly held = new HeldRecords()
  private readonly ranks = new NameRanks()
  private readonly index = new CatalogSearch(this.held, this.ranks)
  private readonly proofs?: CatalogInit['proofs']
  private readonly limits: CatalogLimits
  private seq = 0
  private loaded = false
  /** The add being written, if any: adds run one at a time (see {@link add}). */
  private writing: Promise<unknown> = Promise.resolve()
  /** What the last {@link load} found. */
  loadReport: CatalogLoadReport = { records: 0, unreadable: 0, futureDated: 0, examples: [] }
  /** Identifies this catalog's sequence numbers: a sync cursor is only valid for the same epoch. */
  epoch = ''

  constructor(datastore: Datastore, init: CatalogInit = {}) {
    super()
    this.store = new CatalogStore(datastore)
    const { proofs, ...limits } = init
    this.limits = { ...DEFAULT_CATALOG_LIMITS, ...limits }
    if (proofs != null) this.proofs = proofs
  }

  /**
   * Throws `CatalogQuotaError` when a new record of `publisher` would go over the catalog's
   * limits. The policy: nothing held is evicted for a newcomer, so N fresh keys can fill the room
   * that is left (at most `maxRecordsPerPublisher` each) but never push out what is stored; once
   * full, the catalog takes no new record (those it holds still come in as known).
   */
  room(publisher: string): void {
    checkRoom(publisher, this.held, this.limits)
  }

  /** Number of records (all versions). */
  get size(): number {
    return this.held.size
  }

  /** The sequence number of the newest record: a sync cursor for this catalog. */
  get cursor(): number {
    return this.seq
  }

  /** Loads the persisted catalog (in arrival order, so namespace ownership is kept). */
  async load(): Promise<void> {
    if (this.loaded) return
    this.loaded = true
    this.epoch = await this.store.epoch()
    this.loadReport = await this.store.load((record, seq) => {
      this.remember(record, seq)
      this.seq = Math.max(this.seq, seq)
    })
  }

  /**
   * Throws when `record` breaks a rule this node can check from what it holds; returns `'known'`
   * when it is already here. A record in a domain namespace must also pass {@link prove}.
   */
  check(record: PackageRecord): 'new' | 'known' {
    return checkRecord(record, this.held)
  }

  /**
   * Adds a verified record; returns `'added'`, or `'known'` for one already
   * here. Throws `NamespaceOwnedError` / `VersionConflictError` on a rule.
   *
   * The record and its sequence entry are written in one batch, and the catalog in memory changes
   * only once the batch is committed: a crash or a failed write leaves neither half behind, and
   * nothing is served that is not stored. Adds run one at a time, so each is checked against
   * every add before it.
   */
  async add(record: PackageRecord, source: RecordSource, from?: string): Promise<'added' | 'known'> {
    if (this.check(record) === 'known') return 'known'
    // before the queue: reading a domain's list may take seconds, and other adds need not wait
    await this.prove(record)
    const added = this.writing.then(async () => await this.addNow(record, source, from))
    // the queue only waits for this add to settle; its failure reaches the caller through `added`
    this.writing = added.catch(() => {})
    return await added
  }

  private async addNow(
    record: PackageRecord,
    source: RecordSource,
    from?: string
  ): Promise<'added' | 'known'> {
    if (this.check(record) === 'known') return 'known'
    this.room(record.publisher)
    const seq = this.seq + 1
    await this.store.write(record, seq)
    this.seq = seq
    this.remember(record, seq)
    this.safeDispatchEvent('package', { detail: { record, source, ...(from != null ? { from } : {}) } })
    return 'added'
  }

  /**
   * Resolves when the namespace of `record` needs no proof or its domain lists the publisher;
   * throws `NameUnprovenError` otherwise.
   */
  async prove(record: PackageRecord, options: AbortOptions = {}): Promise<void> {
    await proveRecord(record, this.proofs, options)
  }

  /** How the name of `record` stands: its kind, whether verified, what verified name it looks like. */
  standing(record: PackageRecord): NameStanding {
    return this.ranks.standing(record)
  }

  /** The record of `id` at `version`, or its latest version. */
  get(id: string, version?: string): PackageRecord | undefined {
    return this.held.get(id, version)
  }

  /** Every record held (all versions), in no particular order. */
  records(): IterableIterator<PackageRecord> {
    return this.held.records()
  }

  /** Every known version of `id`, highest first. */
  listVersions(id: string): string[] {
    return this.held.listVersions(id)
  }

  /** Publisher that owns a plain or key `namespace` (for a plain one, if anyone published in it). */
  owner(namespace: string): string | undefined {
    return this.held.owner(namespace)
  }

  /**
   * Ranked search over the latest version of every package. Every category and
   * tag given must be present. Empty text lists everything, newest first.
   */
  search(query: SearchQuery): { records: PackageRecord[]; total: number } {
    return this.index.search(query)
  }

  /** Records added after `cursor` (exclusive), oldest first: a page of catalog sync. */
  since(cursor: number, limit: number): { records: PackageRecord[]; next: number; done: boolean } {
    return this.held.since(cursor, limit)
  }

  private remember(record: PackageRecord, seq: number): void {
    this.ranks.add(record)
    const { latest, replaced } = this.held.remember(record, seq)
    if (latest) this.index.add(record, replaced)
  }
}
