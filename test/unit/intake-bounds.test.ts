/**
 * What a node refuses or ignores from hostile peers (PROTOCOL.md §3-§5): sizes
 * counted in bytes, dates ahead of the clock, replays on gossip, and DHT values
 * older than the one held.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { trace } from '@opentelemetry/api'
import { MemoryDatastore } from 'datastore-core'
import { fromString, toString } from 'uint8arrays'
import { describe, expect, test } from 'vitest'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { PACKAGES_TOPIC } from '../../src/core/constants.ts'
import { dhtValidator, latestKey } from '../../src/core/dht-records.ts'
import { PackageGossip } from '../../src/core/gossip.ts'
import { InvalidRecordError } from '../../src/core/package/errors.ts'
import {
  decodeRecord,
  encodeRecord,
  signRecord,
  signingPayload,
  verifyRecord
} from '../../src/core/package/record.ts'
import { LIMITS, MAX_CLOCK_SKEW_MS } from '../../src/core/package/schema.ts'
import { intakeRecords } from '../../src/core/record-intake.ts'
import type { PackageGossipComponents } from '../../src/core/gossip.ts'
import type { PackageManifest, PackageRecord } from '../../src/core/package/schema.ts'
import type { TopicValidatorFn } from '@libp2p/gossipsub'
import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'

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

const silent = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false
}) as unknown as Logger

/**
 * The gossip topic's validator as gossipsub runs it, over `catalog`; `failures`
 * lists the peers the node lowered in reputation for what they sent.
 */
function gossipValidator(
  catalog: PackageCatalog,
  more: Partial<PackageGossipComponents> = {}
): {
  validate: (from: PeerId, payload: unknown) => Promise<TopicValidatorResult>
  failures: string[]
} {
  const validators = new Map<string, TopicValidatorFn>()
  const failures: string[] = []
  const pubsub = {
    topicValidators: validators,
    addEventListener: () => {},
    removeEventListener: () => {},
    subscribe: () => {},
    publish: () => Promise.reject(new Error('not in this test'))
  } as unknown as PackageGossipComponents['pubsub']
  new PackageGossip({
    pubsub,
    catalog,
    feedback: { failure: peer => void failures.push(peer) },
    log: silent,
    tracer: trace.getTracer('test'),
    ...more
  }).start()
  const validator = validators.get(PACKAGES_TOPIC)
  if (validator == null) throw new Error('no validator on the packages topic')
  return {
    validate: async (from, payload) =>
      await validator(from, {
        type: 'signed',
        topic: PACKAGES_TOPIC,
        data: fromString(JSON.stringify(payload))
      } as Parameters<TopicValidatorFn>[1]),
    failures
  }
}

const peerOf = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

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

describe('publishedAt ahead of the clock', () => {
  test('a record dated more than the allowed skew ahead is refused with the reason, on every path; within the skew it is taken', async () => {
    const key = await generateKeyPair('Ed25519')
    const now = Date.now()
    const future = await signAnything(
      key,
      manifest({ title: 'Always on top' }),
      new Date(now + 3 * 86_400_000)
    )
    const soon = await signAnything(key, manifest({ id: 'acme/soon' }), new Date(now + MAX_CLOCK_SKEW_MS / 2))

    await expect(verifyRecord(wire(future))).rejects.toThrow(/3 days ahead of this node's clock.*10 min/)
    expect(await reasonOf(verifyRecord(wire(future)))).toBe('time')
    // the same record is fine once the clock has caught up with it
    expect(await verifyRecord(wire(future), { now: now + 3 * 86_400_000 })).toEqual(future)
    expect(await verifyRecord(wire(soon))).toEqual(soon)

    // sync, search answers and DHT lookups (intake)
    const catalog = await emptyCatalog()
    const intake = await intakeRecords(catalog, [wire(future), wire(soon)], 'peer', 'peer')
    expect(intake).toMatchObject({ added: [soon], invalid: 1 })
    expect(intake.firstError).toMatch(/ahead of this node's clock/)
    // a DHT PUT or a value a DHT peer answers
    expect(await reasonOf(decodeRecord(encodeRecord(future)))).toBe('time')
    await expect(
      dhtValidator(catalog)(fromString(latestKey(future.id)), encodeRecord(future))
    ).rejects.toThrow(/ahead of this node's clock/)
    // gossip: rejected, and the sender loses reputation
    const sender = await peerOf()
    const gossip = gossipValidator(catalog)
    expect(await gossip.validate(sender, { v: 1, record: wire(future) })).toBe(TopicValidatorResult.Reject)
    expect(gossip.failures).toEqual([sender.toString()])
    expect(catalog.get(future.id)).toBeUndefined()

    // publishing stamps the publisher's own clock
    const published = await signRecord(manifest({ id: 'acme/now' }), key)
    expect(Math.abs(Date.parse(published.publishedAt) - Date.now())).toBeLessThan(60_000)
  })

  test('a publishedAt that is not a time is refused', async () => {
    const key = await generateKeyPair('Ed25519')
    for (const publishedAt of ['2026-02-30T00:00:00Z', 'yesterday', '2026-01-01T00:00:00+02:00']) {
      const unsigned = { ...manifest(), publisher: peerIdFromPrivateKey(key).toString(), publishedAt }
      const record = {
        ...unsigned,
        signature: toString(await key.sign(signingPayload(unsigned)), 'base64url')
      }
      expect(await reasonOf(verifyRecord(wire(record)))).toBe('schema')
    }
  })
})
