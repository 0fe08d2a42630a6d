import { Key } from 'interface-datastore'
import { TypedEventEmitter } from 'main-event'
import MiniSearch from 'minisearch'
import semver from 'semver'
import { fromString, toString } from 'uint8arrays'
import {
  CatalogQuotaError,
  InvalidRecordError,
  NameUnprovenError,
  NamespaceOwnedError,
  VersionConflictError
} from '../package/errors.ts'
import { keyNamespaceOwner, LookAlikes, namespaceKind } from '../package/names.ts'
import { encodeRecord } from '../package/record.ts'
import { MAX_CLOCK_SKEW_MS, namespaceOf, recordSchema } from '../package/schema.ts'
import type { NameStanding } from '../package/names.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { NameProofs } from '../marketplace/name-proofs.ts'
import type { Datastore } from 'interface-datastore'

/** Where a record came from. */
export type RecordSource = 'local' | 'gossip' | 'sync' | 'dht' | 'peer'

export interface PackageEvent {
  record: PackageRecord
  source: RecordSource
  /** Peer that gave it to us, when it came from the network. */
  from?: string
}

export interface CatalogEvents {
  package: CustomEvent<PackageEvent>
}

/** A search over the catalog (contract §2). */
export interface SearchQuery {
  text: string
  categories?: string[]
  tags?: string[]
  limit?: number
  offset?: number
}

export const DEFAULT_LIMIT = 20
export const MAX_LIMIT = 100

/** What {@link PackageCatalog.load} found in the datastore. */
export interface CatalogLoadReport {
  /** Records loaded. */
  records: number
  /** Entries left out because the record under them is missing, is not JSON or breaks the schema. */
  unreadable: number
  /**
   * Records dated more than `MAX_CLOCK_SKEW_MS` ahead of the clock at load, left out and deleted:
   * stored before intake refused them, they would pin themselves to the top of newest-first lists.
   */
  futureDated: number
  /** The first few entries left out, with why (`key: reason`). */
  examples: string[]
}

/** How many records a catalog takes (see {@link PackageCatalog.room}). */
export interface CatalogLimits {
  /** Records in all. @default 50000 */
  maxRecords: number
  /** Records of one publisher key. @default 1000 */
  maxRecordsPerPublisher: number
}

export const DEFAULT_CATALOG_LIMITS: CatalogLimits = { maxRecords: 50_000, maxRecordsPerPublisher: 1_000 }

export interface CatalogInit extends Partial<CatalogLimits> {
  /**
   * Reads the publisher lists of domain namespaces. Without it, records in domain namespaces
   * are refused (`NameUnprovenError` `no-proofs`).
   */
  proofs?: Pick<NameProofs, 'check'>
}

const RECORDS = '/marketplace/catalog/records'
const SEQ = '/marketplace/catalog/seq'
const EPOCH = new Key('/marketplace/catalog/epoch')

interface IndexedPackage {
  id: string
  title: string
  description: string
  tags: string
}

/**
 * Every package record this node knows: persisted in its datastore, indexed
 * for ranked full-text search (MiniSearch) over the latest version of each
 * package, with the marketplace's rules (PROTOCOL.md §3): a key namespace is its key's, a
 * domain namespace is the keys its domain lists, a plain namespace belongs to the first key seen
 * publishing in it; a version is immutable, and versions only move forward (semver order agrees
 * with publication order). Results rank proven names (domain, then key) above plain ones.
 *
 * Records must be verified (`decodeRecord`) before they are added.
 */
export class PackageCatalog extends TypedEventEmitter<CatalogEvents> {
  private readonly datastore: Datastore
  private readonly versions = new Map<string, Map<string, PackageRecord>>()
  private readonly latest = new Map<string, PackageRecord>()
  /** First publisher seen in each plain namespace. */
  private readonly owners = new Map<string, string>()
  private readonly proofs?: CatalogInit['proofs']
  /** Verified domain namespaces held, for look-alike flags. */
  private readonly lookAlikes = new LookAlikes()
  /** The rank of each namespace's records in results (see {@link byRank}); cleared when a domain is added. */
  private readonly nameRanks = new Map<string, number>()
  /** Records held per publisher key. */
  private readonly perPublisher = new Map<string, number>()
  /** Records held (all versions). */
  private count = 0
  private readonly limits: CatalogLimits
  private readonly index = new MiniSearch<IndexedPackage>({
    fields: ['id', 'title', 'description', 'tags'],
    storeFields: [],
    searchOptions: {
      boost: { id: 3, title: 3, tags: 2 },
      // typo tolerance only where it is cheap and useful: words of 5+ letters
      fuzzy: term => (term.length >= 5 ? 0.2 : false),
      // as-you-type: only the last word is a prefix, and only from 3 letters
      prefix: (term, i, terms) => i === terms.length - 1 && term.length >= 3,
      combineWith: 'AND'
    },
    // ids like "acme/left-pad" should match "left", "pad" and "acme"
    tokenize: text => text.split(/[\s\-_./@,;:!?()[\]{}"'`]+/u).filter(t => t.length > 0)
  })
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
    this.datastore = datastore
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
    if (this.size >= this.limits.maxRecords)
      throw new CatalogQuotaError(
        'catalog-full',
        `this catalog is full (${this.limits.maxRecords} records); records held are kept, new ones are refused`
      )
    if ((this.perPublisher.get(publisher) ?? 0) >= this.limits.maxRecordsPerPublisher)
      throw new CatalogQuotaError(
        'publisher-quota',
        `publisher ${publisher} has ${this.limits.maxRecordsPerPublisher} records here, the most one publisher may`
      )
  }

  /** Number of records (all versions). */
  get size(): number {
    return this.count
  }

  /** The sequence number of the newest record: a sync cursor for this catalog. */
  get cursor(): number {
    return this.seq
  }

  /** Loads the persisted catalog (in arrival order, so namespace ownership is kept). */
  async load(): Promise<void> {
    if (this.loaded) return
    this.loaded = true
    if (await this.datastore.has(EPOCH)) {
      this.epoch = toString(await this.datastore.get(EPOCH))
    } else {
      this.epoch = toString(crypto.getRandomValues(new Uint8Array(12)), 'base64url')
      await this.datastore.put(EPOCH, fromString(this.epoch))
    }
    const report: CatalogLoadReport = { records: 0, unreadable: 0, futureDated: 0, examples: [] }
    const leftOut = (key: Key, reason: string): void => {
      if (report.examples.length < 5) report.examples.push(`${key.toString()}: ${reason}`)
    }
    const now = Date.now()
    for await (const { key, value } of this.datastore.query({ prefix: SEQ, orders: [] })) {
      const seq = Number(key.baseNamespace())
      const ref = toString(value)
      const recordKey = new Key(`${RECORDS}/${ref}`)
      let parsed
      try {
        parsed = recordSchema.safeParse(JSON.parse(toString(await this.datastore.get(recordKey))))
      } catch (err) {
        report.unreadable++
        leftOut(recordKey, err instanceof Error ? err.message : String(err))
        continue
      }
      if (!parsed.success) {
        report.unreadable++
        leftOut(recordKey, parsed.error.issues[0]?.message ?? 'not a package record')
        continue
      }
      if (Date.parse(parsed.data.publishedAt) - now > MAX_CLOCK_SKEW_MS) {
        report.futureDated++
        leftOut(recordKey, `dated ${parsed.data.publishedAt}, ahead of this clock`)
        const batch = this.datastore.batch()
        batch.delete(recordKey)
        batch.delete(key)
        await batch.commit()
        continue
      }
      this.remember(parsed.data, seq)
      this.seq = Math.max(this.seq, seq)
      report.records++
    }
    this.loadReport = report
  }

  /**
   * Throws when `record` breaks a rule this node can check from what it holds; returns `'known'`
   * when it is already here. A record in a domain namespace must also pass {@link prove}.
   */
  check(record: PackageRecord): 'new' | 'known' {
    const namespace = namespaceOf(record.id)
    const kind = namespaceKind(namespace)
    if (kind === 'key') {
      const owner = keyNamespaceOwner(namespace)
      if (owner == null)
        throw new InvalidRecordError(
          'schema',
          `id: namespace "${namespace}" starts like a key namespace but is no key`
        )
      if (owner !== record.publisher) throw new NamespaceOwnedError(namespace, owner)
    } else if (kind === 'plain') {
      const owner = this.owners.get(namespace)
      if (owner != null && owner !== record.publisher) throw new NamespaceOwnedError(namespace, owner)
    }
    const existing = this.versions.get(record.id)
    const same = existing?.get(record.version)
    if (same != null) {
      if (same.signature === record.signature) return 'known'
      throw new VersionConflictError(
        record.id,
        record.version,
        `${record.id}@${record.version} is already published; versions are immutable, publish a higher version`
      )
    }
    for (const other of existing?.values() ?? []) {
      const byVersion = semver.compare(other.version, record.version)
      const byTime = Date.parse(other.publishedAt) - Date.parse(record.publishedAt)
      if (byVersion > 0 && byTime <= 0) {
        throw new VersionConflictError(
          record.id,
          record.version,
          `${record.id}@${record.version} goes backwards: ${other.version} was published before it; publish a version above ${this.latest.get(record.id)?.version ?? other.version}`
        )
      }
      if (byVersion < 0 && byTime > 0) {
        throw new VersionConflictError(
          record.id,
          record.version,
          `${record.id}@${record.version} claims a time before ${other.version}, which is lower and was published later`
        )
      }
    }
    return 'new'
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
    const ref = `${record.id}/${record.version}`
    const batch = this.datastore.batch()
    batch.put(new Key(`${RECORDS}/${ref}`), encodeRecord(record))
    batch.put(new Key(`${SEQ}/${String(seq).padStart(12, '0')}`), fromString(ref))
    await batch.commit()
    this.seq = seq
    this.remember(record, seq)
    this.safeDispatchEvent('package', { detail: { record, source, ...(from != null ? { from } : {}) } })
    return 'added'
  }

  /**
   * Resolves when the namespace of `record` needs no proof or its domain lists the publisher;
   * throws `NameUnprovenError` otherwise.
   */
  async prove(record: PackageRecord): Promise<void> {
    const namespace = namespaceOf(record.id)
    if (namespaceKind(namespace) !== 'domain') return
    if (this.proofs == null)
      throw new NameUnprovenError(
        'no-proofs',
        namespace,
        `${record.id} is in a domain namespace, and this node reads no publisher lists`
      )
    await this.proofs.check(namespace, record.publisher)
  }

  /** How the name of `record` stands: its kind, whether verified, what verified name it looks like. */
  standing(record: PackageRecord): NameStanding {
    const namespace = namespaceOf(record.id)
    const kind = namespaceKind(namespace)
    const looksLike = this.lookAlikes.of(namespace)
    return { kind, verified: kind === 'domain', ...(looksLike != null ? { looksLike } : {}) }
  }

  /**
   * `records` split by the rank of their names, in order: verified domains, key namespaces, the
   * rest, then look-alikes of each; each part keeps the order it had. A namespace's rank is
   * worked out once, and again after a verified domain is added.
   */
  private byRank(records: PackageRecord[]): PackageRecord[][] {
    const buckets: PackageRecord[][] = [[], [], [], [], [], []]
    for (const record of records) {
      const namespace = namespaceOf(record.id)
      let rank = this.nameRanks.get(namespace)
      if (rank == null) {
        const { kind, looksLike } = this.standing(record)
        rank = (kind === 'domain' ? 0 : kind === 'key' ? 1 : 2) + (looksLike != null ? 3 : 0)
        this.nameRanks.set(namespace, rank)
      }
      buckets[rank]?.push(record)
    }
    return buckets
  }

  /** The record of `id` at `version`, or its latest version. */
  get(id: string, version?: string): PackageRecord | undefined {
    return version == null ? this.latest.get(id) : this.versions.get(id)?.get(version)
  }

  /** Every record held (all versions), in no particular order. */
  *records(): IterableIterator<PackageRecord> {
    for (const versions of this.versions.values()) yield* versions.values()
  }

  /** Every known version of `id`, highest first. */
  listVersions(id: string): string[] {
    return [...(this.versions.get(id)?.keys() ?? [])].sort(semver.rcompare)
  }

  /** Publisher that owns a plain or key `namespace` (for a plain one, if anyone published in it). */
  owner(namespace: string): string | undefined {
    return namespaceKind(namespace) === 'key' ? keyNamespaceOwner(namespace) : this.owners.get(namespace)
  }

  /**
   * Ranked search over the latest version of every package. Every category and
   * tag given must be present. Empty text lists everything, newest first.
   */
  search(query: SearchQuery): { records: PackageRecord[]; total: number } {
    const limit = Math.min(Math.max(query.limit ?? DEFAULT_LIMIT, 0), MAX_LIMIT)
    const offset = Math.max(query.offset ?? 0, 0)
    const categories = query.categories ?? []
    const tags = (query.tags ?? []).map(t => t.toLowerCase())
    const matches = (r: PackageRecord | undefined): r is PackageRecord =>
      r != null &&
      categories.every(c => r.categories?.includes(c) === true) &&
      tags.every(t => r.tags?.some(rt => rt.toLowerCase() === t) === true)

    const wanted = offset + limit
    if (query.text.trim() === '') {
      // newest first; the candidates are the smallest filter set, or everything
      const sets = [...categories.map(c => this.byCategory.get(c)), ...tags.map(t => this.byTag.get(t))]
      if (sets.some(set => set == null)) return { records: [], total: 0 }
      const smallest = (sets as Array<Set<string>>).sort((a, b) => a.size - b.size)[0]
      const candidates =
        smallest == null
          ? [...this.latest.values()]
          : [...smallest].map(id => this.latest.get(id)).filter(r => r != null)
      const all = candidates.filter(matches)
      // by rank, newest first within each: only the ranks that reach `wanted` are ordered
      const top: PackageRecord[] = []
      for (const bucket of this.byRank(all)) {
        if (top.length >= wanted) break
        const room = wanted - top.length
        top.push(...(bucket.length <= room * 4 ? bucket.sort(newestFirst) : topK(bucket, room, newestFirst)))
      }
      return { records: top.slice(offset, wanted), total: all.length }
    }
    const relevant: PackageRecord[] = []
    for (const hit of this.index.search(
      query.text,
      categories.length + tags.length > 0 ? { filter: hit => matches(this.latest.get(hit.id as string)) } : {}
    )) {
      const record = this.latest.get(hit.id as string)
      if (record != null) relevant.push(record)
    }
    // relevance within each rank: a plain name never outranks a proven one
    const ranked = this.byRank(relevant).flat()
    return { records: ranked.slice(offset, wanted), total: ranked.length }
  }

  /** Records added after `cursor` (exclusive), oldest first: a page of catalog sync. */
  since(cursor: number, limit: number): { records: PackageRecord[]; next: number; done: boolean } {
    // arrival order is append-only, so the first entry after the cursor is found by bisection
    let lo = 0
    let hi = this.arrivals.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.arrivals[mid]?.seq ?? 0) <= cursor) lo = mid + 1
      else hi = mid
    }
    const page = this.arrivals.slice(lo, lo + limit)
    return {
      records: page.map(e => e.record),
      next: page.at(-1)?.seq ?? cursor,
      done: lo + limit >= this.arrivals.length
    }
  }

  private readonly arrivals: Array<{ seq: number; record: PackageRecord }> = []
  private readonly byTag = new Map<string, Set<string>>()
  private readonly byCategory = new Map<string, Set<string>>()

  /** Files the latest version of a package under its tags and categories. */
  private file(record: PackageRecord): void {
    for (const tag of record.tags ?? []) addTo(this.byTag, tag.toLowerCase(), record.id)
    for (const category of record.categories ?? []) addTo(this.byCategory, category, record.id)
  }

  private unfile(record: PackageRecord): void {
    for (const tag of record.tags ?? []) this.byTag.get(tag.toLowerCase())?.delete(record.id)
    for (const category of record.categories ?? []) this.byCategory.get(category)?.delete(record.id)
  }

  private remember(record: PackageRecord, seq: number): void {
    const namespace = namespaceOf(record.id)
    const kind = namespaceKind(namespace)
    if (kind === 'plain' && !this.owners.has(namespace)) this.owners.set(namespace, record.publisher)
    if (kind === 'domain' && this.lookAlikes.add(namespace)) this.nameRanks.clear()
    let versions = this.versions.get(record.id)
    if (versions == null) {
      versions = new Map()
      this.versions.set(record.id, versions)
    }
    if (!versions.has(record.version)) {
      this.count++
      this.perPublisher.set(record.publisher, (this.perPublisher.get(record.publisher) ?? 0) + 1)
    }
    versions.set(record.version, record)
    this.arrivals.push({ seq, record })
    const latest = this.latest.get(record.id)
    if (latest == null || semver.gt(record.version, latest.version)) {
      this.latest.set(record.id, record)
      const doc: IndexedPackage = {
        id: record.id,
        title: record.title,
        description: record.description,
        tags: (record.tags ?? []).join(' ')
      }
      if (latest != null) {
        this.index.discard(record.id)
        this.unfile(latest)
      }
      this.index.add(doc)
      this.file(record)
    }
  }
}

function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key)
  if (set == null) {
    set = new Set()
    map.set(key, set)
  }
  set.add(id)
}

function newestFirst(a: PackageRecord, b: PackageRecord): number {
  return b.publishedAt.localeCompare(a.publishedAt)
}

/** The first `k` of `items` in `order`, without sorting all of them. */
function topK<T>(items: T[], k: number, order: (a: T, b: T) => number): T[] {
  const top: T[] = []
  for (const item of items) {
    if (top.length < k) {
      top.push(item)
      if (top.length === k) top.sort(order)
    } else if (order(item, top[k - 1] as T) < 0) {
      top[k - 1] = item
      top.sort(order)
    }
  }
  return top.length < k ? top.sort(order) : top
}
