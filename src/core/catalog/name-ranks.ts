import { LookAlikes, namespaceKind } from '../package/names.ts'
import { namespaceOf } from '../package/schema.ts'
import type { NameStanding } from '../package/names.ts'
import type { PackageRecord } from '../package/schema.ts'

/**
 * How the names of a catalog's records rank in results: proven names (verified domains, then key
 * namespaces) above plain ones, and look-alikes of a verified domain below all three.
 */
export class NameRanks {
  /** Verified domain namespaces held, for look-alike flags. */
  private readonly lookAlikes = new LookAlikes()
  /** The rank of each namespace's records in results (see {@link byRank}); cleared when a domain is added. */
  private readonly ranks = new Map<string, number>()

  /** Takes note of the namespace of a record the catalog now holds. */
  add(record: PackageRecord): void {
    const namespace = namespaceOf(record.id)
    if (namespaceKind(namespace) === 'domain' && this.lookAlikes.add(namespace)) this.ranks.clear()
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
  byRank(records: PackageRecord[]): PackageRecord[][] {
    const buckets: PackageRecord[][] = [[], [], [], [], [], []]
    for (const record of records) {
      const namespace = namespaceOf(record.id)
      let rank = this.ranks.get(namespace)
      if (rank == null) {
        const { kind, looksLike } = this.standing(record)
        rank = (kind === 'domain' ? 0 : kind === 'key' ? 1 : 2) + (looksLike != null ? 3 : 0)
        this.ranks.set(namespace, rank)
      }
      buckets[rank]?.push(record)
    }
    return buckets
  }
}
