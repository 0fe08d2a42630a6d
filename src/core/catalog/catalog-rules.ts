import semver from 'semver'
import {
  CatalogQuotaError,
  InvalidRecordError,
  NameUnprovenError,
  NamespaceOwnedError,
  VersionConflictError
} from '../package/errors.ts'
import { keyNamespaceOwner, namespaceKind } from '../package/names.ts'
import { namespaceOf } from '../package/schema.ts'
import type { CatalogInit, CatalogLimits } from './catalog-types.ts'
import type { HeldRecords } from './held-records.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { AbortOptions } from '@libp2p/interface'

/*
 * The marketplace's rules (PROTOCOL.md §3), checked against what a catalog holds: a key namespace
 * is its key's, a domain namespace is the keys its domain lists, a plain namespace belongs to the
 * first key seen publishing in it; a version is immutable, and versions only move forward (semver
 * order agrees with publication order).
 */

/**
 * Throws when `record` breaks a rule that can be checked from what `held` holds; returns `'known'`
 * when it is already held. A record in a domain namespace must also pass {@link proveRecord}.
 */
export function checkRecord(record: PackageRecord, held: HeldRecords): 'new' | 'known' {
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
    const owner = held.owner(namespace)
    if (owner != null && owner !== record.publisher) throw new NamespaceOwnedError(namespace, owner)
  }
  const same = held.get(record.id, record.version)
  if (same != null) {
    if (same.signature === record.signature) return 'known'
    throw new VersionConflictError(
      record.id,
      record.version,
      `${record.id}@${record.version} is already published; versions are immutable, publish a higher version`
    )
  }
  for (const other of held.versionsOf(record.id)) {
    const byVersion = semver.compare(other.version, record.version)
    const byTime = Date.parse(other.publishedAt) - Date.parse(record.publishedAt)
    if (byVersion > 0 && byTime <= 0) {
      throw new VersionConflictError(
        record.id,
        record.version,
        `${record.id}@${record.version} goes backwards: ${other.version} was published before it; publish a version above ${held.get(record.id)?.version ?? other.version}`
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
 * Throws `CatalogQuotaError` when a new record of `publisher` would take `held` over `limits`.
 * The policy: nothing held is evicted for a newcomer, so N fresh keys can fill the room that is
 * left (at most `maxRecordsPerPublisher` each) but never push out what is stored; once full, the
 * catalog takes no new record (those it holds still come in as known).
 */
export function checkRoom(publisher: string, held: HeldRecords, limits: CatalogLimits): void {
  if (held.size >= limits.maxRecords)
    throw new CatalogQuotaError(
      'catalog-full',
      `this catalog is full (${limits.maxRecords} records); records held are kept, new ones are refused`
    )
  if (held.heldBy(publisher) >= limits.maxRecordsPerPublisher)
    throw new CatalogQuotaError(
      'publisher-quota',
      `publisher ${publisher} has ${limits.maxRecordsPerPublisher} records here, the most one publisher may`
    )
}

/**
 * Resolves when the namespace of `record` needs no proof or its domain lists the publisher;
 * throws `NameUnprovenError` otherwise (`no-proofs` when there is nothing to read lists with).
 */
export async function proveRecord(
  record: PackageRecord,
  proofs: CatalogInit['proofs'],
  options: AbortOptions = {}
): Promise<void> {
  const namespace = namespaceOf(record.id)
  if (namespaceKind(namespace) !== 'domain') return
  if (proofs == null)
    throw new NameUnprovenError(
      'no-proofs',
      namespace,
      `${record.id} is in a domain namespace, and this node reads no publisher lists`
    )
  await proofs.check(namespace, record.publisher, options)
}
