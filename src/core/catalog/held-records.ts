import semver from 'semver'
import { keyNamespaceOwner, namespaceKind } from '../package/names.ts'
import { namespaceOf } from '../package/schema.ts'
import type { PackageRecord } from '../package/schema.ts'

/** What {@link HeldRecords.remember} changed. */
export interface Remembered {
  /** The record is now the latest version of its package. */
  latest: boolean
  /** The latest version it took the place of, if there was one. */
  replaced?: PackageRecord
}

/**
 * The records a catalog holds, in memory: every version of each package, the latest of each, the
 * first publisher of each plain namespace, how many records each publisher has, and the order
 * they arrived in (what catalog sync pages through). It checks no rule: the catalog does that
 * before it remembers a record.
 */
export class HeldRecords {
  private readonly versions = new Map<string, Map<string, PackageRecord>>()
  private readonly latest = new Map<string, PackageRecord>()
  /** First publisher seen in each plain namespace. */
  private readonly owners = new Map<string, string>()
  /** Records held per publisher key. */
  private readonly perPublisher = new Map<string, number>()
  private readonly arrivals: Array<{ seq: number; record: PackageRecord }> = []
  /** Records held (all versions). */
  private count = 0

  /** Number of records (all versions). */
  get size(): number {
    return this.count
  }

  /** Records of `publisher` held (all versions). */
  heldBy(publisher: string): number {
    return this.perPublisher.get(publisher) ?? 0
  }

  /** The record of `id` at `version`, or its latest version. */
  get(id: string, version?: string): PackageRecord | undefined {
    return version == null ? this.latest.get(id) : this.versions.get(id)?.get(version)
  }

  /** Every version of `id` held, in no particular order. */
  versionsOf(id: string): Iterable<PackageRecord> {
    return this.versions.get(id)?.values() ?? []
  }

  /** The latest version of every package. */
  latestRecords(): IterableIterator<PackageRecord> {
    return this.latest.values()
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

  /** Holds `record`, which arrived as number `seq`; says whether it is now its package's latest. */
  remember(record: PackageRecord, seq: number): Remembered {
    const namespace = namespaceOf(record.id)
    if (namespaceKind(namespace) === 'plain' && !this.owners.has(namespace))
      this.owners.set(namespace, record.publisher)
    let versions = this.versions.get(record.id)
    if (versions == null) {
      versions = new Map()
      this.versions.set(record.id, versions)
    }
    if (!versions.has(record.version)) {
      this.count++
      this.perPublisher.set(record.publisher, this.heldBy(record.publisher) + 1)
    }
    versions.set(record.version, record)
    this.arrivals.push({ seq, record })
    const latest = this.latest.get(record.id)
    if (latest != null && !semver.gt(record.version, latest.version)) return { latest: false }
    this.latest.set(record.id, record)
    return { latest: true, ...(latest != null ? { replaced: latest } : {}) }
  }
}
