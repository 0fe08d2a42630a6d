import { toString } from 'uint8arrays'
import semver from 'semver'
import { InvalidRecordError } from './package/errors.ts'
import { decodeRecord } from './package/record.ts'
import type { PackageCatalog } from './catalog/catalog.ts'
import type { PackageRecord } from './package/schema.ts'

/** Namespace of the marketplace's DHT keys (kad-dht dispatches validators on it). */
export const DHT_NAMESPACE = 'mkt'

/** `/mkt/<id>`: the latest version of a package (the selector keeps the highest). */
export function latestKey(id: string): string {
  return `/${DHT_NAMESPACE}/${id}`
}

/** `/mkt/<id>/<version>`: one exact version, so every version stays retrievable. */
export function versionKey(id: string, version: string): string {
  return `/${DHT_NAMESPACE}/${id}/${version}`
}

/**
 * kad-dht validator for `/mkt/...` records: the value must be a valid signed
 * record whose id (and version) match the key, and must not break the
 * namespace and version rules of what this node already knows.
 */
export function dhtValidator(catalog: PackageCatalog): (key: Uint8Array, value: Uint8Array) => Promise<void> {
  return async (key, value) => {
    const record = await decodeRecord(value)
    const text = toString(key)
    if (text !== latestKey(record.id) && text !== versionKey(record.id, record.version)) {
      throw new InvalidRecordError(
        'key',
        `DHT key ${text} does not match record ${record.id}@${record.version}`
      )
    }
    catalog.check(record)
  }
}

/** kad-dht selector: of several valid records under one key, the highest version wins. */
export function dhtSelector(_key: Uint8Array, values: Uint8Array[]): number {
  let best = 0
  let bestVersion: string | undefined
  values.forEach((value, i) => {
    try {
      const { version } = JSON.parse(toString(value)) as PackageRecord
      if (bestVersion == null || semver.gt(version, bestVersion)) {
        best = i
        bestVersion = version
      }
    } catch {
      // invalid values were refused by the validator already
    }
  })
  return best
}

/** The `validators` and `selectors` to give kad-dht. */
export function dhtRecordOptions(catalog: PackageCatalog): {
  validators: Record<string, (key: Uint8Array, value: Uint8Array) => Promise<void>>
  selectors: Record<string, (key: Uint8Array, values: Uint8Array[]) => number>
} {
  return {
    validators: { [DHT_NAMESPACE]: dhtValidator(catalog) },
    selectors: { [DHT_NAMESPACE]: dhtSelector }
  }
}
