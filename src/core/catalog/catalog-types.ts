import type { NameProofs } from '../marketplace/name-proofs.ts'
import type { PackageRecord } from '../package/schema.ts'

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

/** What `PackageCatalog.load` found in the datastore. */
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

/** How many records a catalog takes (see `PackageCatalog.room`). */
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
