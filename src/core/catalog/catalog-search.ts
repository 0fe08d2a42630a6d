import MiniSearch from 'minisearch'
import { DEFAULT_LIMIT, MAX_LIMIT } from './catalog-types.ts'
import type { SearchQuery } from './catalog-types.ts'
import type { HeldRecords } from './held-records.ts'
import type { NameRanks } from './name-ranks.ts'
import type { PackageRecord } from '../package/schema.ts'

interface IndexedPackage {
  id: string
  title: string
  description: string
  tags: string
}

/**
 * Ranked search over the latest version of every package a catalog holds: full text with
 * MiniSearch, tags and categories in indexes of their own, and results ordered by the rank of
 * their names ({@link NameRanks}) before relevance or age.
 */
export class CatalogSearch {
  private readonly held: HeldRecords
  private readonly ranks: NameRanks
  private readonly byTag = new Map<string, Set<string>>()
  private readonly byCategory = new Map<string, Set<string>>()
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

  constructor(held: HeldRecords, ranks: NameRanks) {
    this.held = held
    this.ranks = ranks
  }

  /** Indexes `record`, which became the latest version of its package in place of `replaced`. */
  add(record: PackageRecord, replaced?: PackageRecord): void {
    if (replaced != null) {
      this.index.discard(record.id)
      this.unfile(replaced)
    }
    this.index.add({
      id: record.id,
      title: record.title,
      description: record.description,
      tags: (record.tags ?? []).join(' ')
    })
    this.file(record)
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
          ? [...this.held.latestRecords()]
          : [...smallest].map(id => this.held.get(id)).filter(r => r != null)
      const all = candidates.filter(matches)
      // by rank, newest first within each: only the ranks that reach `wanted` are ordered
      const top: PackageRecord[] = []
      for (const bucket of this.ranks.byRank(all)) {
        if (top.length >= wanted) break
        const room = wanted - top.length
        top.push(...(bucket.length <= room * 4 ? bucket.sort(newestFirst) : topK(bucket, room, newestFirst)))
      }
      return { records: top.slice(offset, wanted), total: all.length }
    }
    const filter =
      categories.length + tags.length > 0
        ? { filter: (hit: { id: unknown }) => matches(this.held.get(hit.id as string)) }
        : {}
    // exact words first; the last word as a prefix (as-you-type) when they do not fill the page;
    // typo-tolerant matching, many times slower on a large index (at 100,000 packages it made the
    // p95 of a search), only when neither matched anything: a typo, not a word the index has
    let hits = this.index.search(query.text, { ...filter, fuzzy: false, prefix: false })
    if (hits.length < wanted) {
      const typed = this.index.search(query.text, { ...filter, fuzzy: false })
      hits = typed.length > 0 ? typed : this.index.search(query.text, filter)
    }
    const relevant: PackageRecord[] = []
    for (const hit of hits) {
      const record = this.held.get(hit.id as string)
      if (record != null) relevant.push(record)
    }
    // relevance within each rank: a plain name never outranks a proven one
    const ranked = this.ranks.byRank(relevant).flat()
    return { records: ranked.slice(offset, wanted), total: ranked.length }
  }

  /** Files the latest version of a package under its tags and categories. */
  private file(record: PackageRecord): void {
    for (const tag of record.tags ?? []) addTo(this.byTag, tag.toLowerCase(), record.id)
    for (const category of record.categories ?? []) addTo(this.byCategory, category, record.id)
  }

  private unfile(record: PackageRecord): void {
    for (const tag of record.tags ?? []) this.byTag.get(tag.toLowerCase())?.delete(record.id)
    for (const category of record.categories ?? []) this.byCategory.get(category)?.delete(record.id)
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
