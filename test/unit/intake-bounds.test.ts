/**
 * What a node refuses or ignores from hostile peers (PROTOCOL.md §3-§5): sizes
 * counted in bytes, dates ahead of the clock, replays on gossip, and DHT values
 * older than the one held.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { toString } from 'uint8arrays'
import { describe, expect, test } from 'vitest'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { InvalidRecordError } from '../../src/core/package/errors.ts'
import { encodeRecord, signingPayload, verifyRecord } from '../../src/core/package/record.ts'
import { LIMITS } from '../../src/core/package/schema.ts'
import { intakeRecords } from '../../src/core/record-intake.ts'
import type { PackageManifest, PackageRecord } from '../../src/core/package/schema.ts'
import type { PrivateKey } from '@libp2p/interface'

const manifest = (over: Partial<PackageManifest> = {}): PackageManifest => ({
  id: 'acme/util',
  version: '1.0.0',
  title: 'Util',
  description: 'Useful things',
  license: 'MIT',
  ...over
})

/** Signs `fields` as a hostile publisher would: none of signRecord's checks, any date. */
async function signAnything(
  key: PrivateKey,
  fields: PackageManifest,
  publishedAt = new Date()
): Promise<PackageRecord> {
  const unsigned = {
    ...fields,
    publisher: peerIdFromPrivateKey(key).toString(),
    publishedAt: publishedAt.toISOString()
  }
  return { ...unsigned, signature: toString(await key.sign(signingPayload(unsigned)), 'base64url') }
}

/** The record as it arrives: parsed JSON. */
const wire = (record: object): unknown => JSON.parse(JSON.stringify(record))

async function reasonOf(promise: Promise<unknown>): Promise<string | undefined> {
  return await promise.then(
    () => undefined,
    (err: unknown) => (err as InvalidRecordError).reason
  )
}

async function emptyCatalog(): Promise<PackageCatalog> {
  const catalog = new PackageCatalog(new MemoryDatastore())
  await catalog.load()
  return catalog
}

describe('sizes are UTF-8 bytes', () => {
  test('a record within the character limits but over 16 384 bytes is refused, from sync as from gossip', async () => {
    const key = await generateKeyPair('Ed25519')
    // "€" is one UTF-16 code unit and three UTF-8 bytes
    const big = await signAnything(
      key,
      manifest({
        description: '€'.repeat(LIMITS.descriptionLength),
        authors: Array.from({ length: 20 }, () => 'é'.repeat(110))
      })
    )
    const json = JSON.stringify(big)
    expect(json.length).toBeLessThan(LIMITS.recordBytes / 2)
    expect(encodeRecord(big).byteLength).toBeGreaterThan(LIMITS.recordBytes)

    // gossip verifies the record of a message (a message of up to 17 408 bytes holds this one)
    expect(await reasonOf(verifyRecord(wire(big)))).toBe('size')
    // sync, search answers and DHT lookups take records through intake
    const catalog = await emptyCatalog()
    const intake = await intakeRecords(catalog, [wire(big)], 'sync', 'peer')
    expect(intake).toMatchObject({ added: [], invalid: 1 })
    expect(intake.firstError).toMatch(/16765 bytes.*16384/)
    expect(catalog.get('acme/util')).toBeUndefined()

    // a record under the limit in bytes still goes in
    const fits = await signAnything(key, manifest({ description: '€'.repeat(LIMITS.descriptionLength) }))
    expect(await intakeRecords(catalog, [wire(fits)], 'sync', 'peer')).toMatchObject({ added: [fits] })
  })
})
