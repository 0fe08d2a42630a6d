import { Record as DhtRecord } from '@libp2p/kad-dht'
import { Key } from 'interface-datastore'
import semver from 'semver'
import { toString } from 'uint8arrays'
import { InvalidRecordError, NamespaceOwnedError } from '../package/errors.ts'
import { decodeRecord } from '../package/record.ts'
import { namespaceKind } from '../package/names.ts'
import { namespaceOf } from '../package/schema.ts'
import type { PackageCatalog } from '../catalog/catalog.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** Namespace of the marketplace's DHT keys (kad-dht dispatches validators on it). */
export const DHT_NAMESPACE = 'mkt'

/** kad-dht's default `datastorePrefix`, under which it keeps the records it stores. */
export const DHT_DATASTORE_PREFIX = '/dht'

/** `/mkt/<id>`: the latest version of a package (the selector keeps the highest). */
export function latestKey(id: string): string {
  return `/${DHT_NAMESPACE}/${id}`
}

/** `/mkt/<id>/<version>`: one exact version, so every version stays retrievable. */
export function versionKey(id: string, version: string): string {
  return `/${DHT_NAMESPACE}/${id}/${version}`
}

/**
 * Where kad-dht keeps the record of the DHT key `key` in its datastore:
 * `<prefix>/record/<base32 of the key>`, a serialized libp2p record (its on-disk format).
 */
export function dhtStoreKey(key: Uint8Array, prefix = DHT_DATASTORE_PREFIX): Key {
  return new Key(`${prefix}/record/${toString(key, 'base32')}`, false)
}

export interface DhtRecordsComponents {
  catalog: Pick<PackageCatalog, 'check' | 'prove' | 'get' | 'add'>
  /** The datastore kad-dht keeps its records in (libp2p's). */
  datastore: Pick<Datastore, 'get'>
}

export interface DhtRecordsInit {
  /** kad-dht's `datastorePrefix`. @default '/dht' */
  datastorePrefix?: string
  /**
   * Add each valid value new to the catalog to it (a DHT server: the relay), so that the catalog's
   * limits bound what `PUT_VALUE` can store; a value past them is refused. A client (a tab) stores
   * nothing and adds what its lookups find itself, saying where from. @default false
   */
  addToCatalog?: boolean
}

/** What the validator needs of the record a node holds under a key. */
type HeldRecord = Pick<PackageRecord, 'version' | 'publisher' | 'signature'>

/**
 * kad-dht validator for `/mkt/...` records: the value must be a valid signed
 * record whose id (and version) match the key, must not break the namespace
 * and version rules of what this node already knows, and must not be older
 * than what this node holds for the key (PROTOCOL.md §5). On a server, a valid
 * value new to the catalog is added to it, so the catalog's limits bound the DHT store.
 *
 * kad-dht's PUT handler runs only the validator and then overwrites what it
 * stored (selectors are used on GET alone), so the comparison with the held
 * record happens here: a value replaces the held one only when it is the same
 * record or, under a latest key, a higher version by the same publisher. Under
 * a latest key the value must also be no lower than the catalog's latest
 * version. On GET the same validator discards such values from peers.
 */
export function dhtValidator(
  components: DhtRecordsComponents,
  init: DhtRecordsInit = {}
): (key: Uint8Array, value: Uint8Array, options?: AbortOptions) => Promise<void> {
  const { catalog, datastore } = components
  const prefix = init.datastorePrefix ?? DHT_DATASTORE_PREFIX
  return async (key, value, options) => {
    const record = await decodeRecord(value)
    const text = toString(key)
    const latest = text === latestKey(record.id)
    if (!latest && text !== versionKey(record.id, record.version)) {
      throw new InvalidRecordError(
        'key',
        `DHT key ${text} does not match record ${record.id}@${record.version}`
      )
    }
    catalog.check(record)
    await catalog.prove(record)
    const newest = latest ? catalog.get(record.id) : undefined
    if (newest != null && semver.gt(newest.version, record.version)) {
      throw new InvalidRecordError(
        'stale',
        `${record.id}@${record.version} under ${text} is older than ${newest.version}, the latest version this node holds`
      )
    }
    const held = await heldRecord(datastore, dhtStoreKey(key, prefix), options)
    if (held != null) checkReplaces(held, record, text, latest)
    // a value a server stores is in its catalog too: the DHT store is then bounded by the catalog's
    // limits (two keys per record), and a value past them is refused (CatalogQuotaError) instead of
    // filling the datastore with records of a thousand fresh keys
    if (init.addToCatalog === true && catalog.get(record.id, record.version) == null)
      await catalog.add(record, 'dht')
  }
}

/** Throws unless `record` may replace `held` under `key` (see {@link dhtValidator}). */
function checkReplaces(held: HeldRecord, record: PackageRecord, key: string, latest: boolean): void {
  // a domain's namespace is every key it lists (the validator proved this one); any other is one key's
  if (held.publisher !== record.publisher && namespaceKind(namespaceOf(record.id)) !== 'domain') {
    throw new NamespaceOwnedError(namespaceOf(record.id), held.publisher)
  }
  if (held.signature === record.signature) return
  if (latest && semver.gt(record.version, held.version)) return
  throw new InvalidRecordError(
    'stale',
    held.version === record.version
      ? `${record.id}@${record.version} under ${key} differs from the record of that version held; a published version is immutable`
      : `${record.id}@${record.version} under ${key} is older than ${held.version}, the version held under it`
  )
}

/**
 * The record this node stores under a DHT key, as far as the validator needs
 * it; undefined when there is none or it is unreadable (anything valid may
 * then replace it).
 */
async function heldRecord(
  datastore: DhtRecordsComponents['datastore'],
  key: Key,
  options?: AbortOptions
): Promise<HeldRecord | undefined> {
  let stored: Uint8Array
  try {
    stored = await datastore.get(key, options)
  } catch (err) {
    if ((err as Error).name === 'NotFoundError') return undefined
    throw err
  }
  try {
    const held = JSON.parse(toString(DhtRecord.deserialize(stored).value)) as Partial<HeldRecord>
    if (
      typeof held.version === 'string' &&
      semver.valid(held.version) === held.version &&
      typeof held.publisher === 'string' &&
      typeof held.signature === 'string'
    ) {
      return { version: held.version, publisher: held.publisher, signature: held.signature }
    }
  } catch {
    // not a record: nothing to protect
  }
  return undefined
}

/**
 * kad-dht selector: of several valid records under one key, the highest
 * version wins; of records of the same version, the one published first
 * (a published version is immutable: the first signature stands).
 */
export function dhtSelector(_key: Uint8Array, values: Uint8Array[]): number {
  let best = 0
  let bestRecord: Pick<PackageRecord, 'version' | 'publishedAt'> | undefined
  values.forEach((value, i) => {
    try {
      const record = JSON.parse(toString(value)) as PackageRecord
      if (semver.valid(record.version) == null) return
      if (bestRecord == null || better(record, bestRecord)) {
        best = i
        bestRecord = record
      }
    } catch {
      // invalid values were refused by the validator already
    }
  })
  return best
}

function better(
  a: Pick<PackageRecord, 'version' | 'publishedAt'>,
  b: Pick<PackageRecord, 'version' | 'publishedAt'>
): boolean {
  const byVersion = semver.compare(a.version, b.version)
  return byVersion !== 0 ? byVersion > 0 : Date.parse(a.publishedAt) < Date.parse(b.publishedAt)
}

/** The `validators` and `selectors` to give kad-dht. */
export function dhtRecordOptions(
  components: DhtRecordsComponents,
  init: DhtRecordsInit = {}
): {
  validators: Record<string, (key: Uint8Array, value: Uint8Array, options?: AbortOptions) => Promise<void>>
  selectors: Record<string, (key: Uint8Array, values: Uint8Array[]) => number>
} {
  return {
    validators: { [DHT_NAMESPACE]: dhtValidator(components, init) },
    selectors: { [DHT_NAMESPACE]: dhtSelector }
  }
}
