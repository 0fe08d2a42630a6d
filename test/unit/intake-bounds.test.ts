/**
 * What a node refuses or ignores from hostile peers (PROTOCOL.md §3-§5): sizes
 * counted in bytes, dates ahead of the clock, replays on gossip, and DHT values
 * older than the one held.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { trace } from '@opentelemetry/api'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { fromString, toString } from 'uint8arrays'
import { describe, expect, test } from 'vitest'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { PACKAGES_TOPIC } from '../../src/core/constants.ts'
import {
  dhtSelector,
  dhtStoreKey,
  dhtValidator,
  latestKey,
  versionKey
} from '../../src/core/marketplace/dht-records.ts'
import { PackageGossip } from '../../src/core/marketplace/gossip.ts'
import { GossipReplays } from '../../src/core/marketplace/gossip-replays.ts'
import { InvalidRecordError, NamespaceOwnedError } from '../../src/core/package/errors.ts'
import { PackageDht } from '../../src/core/marketplace/package-dht.ts'
import {
  decodeRecord,
  encodeRecord,
  signRecord,
  signingPayload,
  verifyRecord
} from '../../src/core/package/record.ts'
import { LIMITS, MAX_CLOCK_SKEW_MS } from '../../src/core/package/schema.ts'
import { intakeRecords } from '../../src/core/marketplace/record-intake.ts'
import type { PackageGossipComponents } from '../../src/core/marketplace/gossip.ts'
import type { PackageDhtComponents } from '../../src/core/marketplace/package-dht.ts'
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
  replays: GossipReplays
} {
  const validators = new Map<string, TopicValidatorFn>()
  const failures: string[] = []
  const replays = new GossipReplays()
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
    replays,
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
    failures,
    replays
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
    const validate = dhtValidator({ catalog, datastore: new MemoryDatastore() })
    await expect(validate(fromString(latestKey(future.id)), encodeRecord(future))).rejects.toThrow(
      /ahead of this node's clock/
    )
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

describe('DHT values never go backwards', () => {
  /** What kad-dht's PUT_VALUE handler does with a value: run the validator, then overwrite what it stored. */
  function dhtServer(catalog: PackageCatalog): {
    put: (key: string, record: PackageRecord) => Promise<void>
    held: (key: string) => Promise<string>
  } {
    const datastore = new MemoryDatastore()
    const validate = dhtValidator({ catalog, datastore })
    return {
      put: async (key, record) => {
        const bytes = fromString(key)
        await validate(bytes, encodeRecord(record))
        await datastore.put(
          dhtStoreKey(bytes),
          new DhtRecord(bytes, encodeRecord(record), new Date()).serialize()
        )
      },
      held: async key => {
        const stored = DhtRecord.deserialize(await datastore.get(dhtStoreKey(fromString(key))))
        const record = JSON.parse(toString(stored.value)) as PackageRecord
        return `${record.version} ${record.publishedAt}`
      }
    }
  }

  test('a PUT older than the record held under its key is refused, and the held record stays', async () => {
    const alice = await generateKeyPair('Ed25519')
    const mallory = await generateKeyPair('Ed25519')
    const now = Date.now()
    const v1 = await signRecord(manifest(), alice, new Date(now - 3000))
    const v2 = await signRecord(manifest({ version: '2.0.0' }), alice, new Date(now - 2000))
    const v3 = await signRecord(manifest({ version: '3.0.0' }), alice, new Date(now - 1000))
    // a node that saw 2.0.0 only in the DHT: its catalog knows nothing of acme/util
    const server = dhtServer(await emptyCatalog())
    const latest = latestKey(v1.id)

    await server.put(latest, v2)
    await expect(server.put(latest, v1)).rejects.toThrow(/acme\/util@1.0.0 .* is older than 2.0.0/)
    expect(await server.held(latest)).toBe(`2.0.0 ${v2.publishedAt}`)
    // the same record again (a publisher refreshing it) is fine, a higher version replaces it
    await server.put(latest, v2)
    await server.put(latest, v3)
    expect(await server.held(latest)).toBe(`3.0.0 ${v3.publishedAt}`)

    // a version is immutable: re-signed with another date, it does not replace the first
    const versionOne = versionKey(v1.id, v1.version)
    await server.put(versionOne, v1)
    const resigned = await signRecord(manifest(), alice, new Date(now))
    await expect(server.put(versionOne, resigned)).rejects.toThrow(/immutable/)
    await expect(server.put(latest, await signRecord(manifest({ version: '3.0.0' }), alice))).rejects.toThrow(
      /immutable/
    )
    // another key cannot take over the key, even with a higher version
    await expect(
      server.put(latest, await signRecord(manifest({ version: '9.0.0' }), mallory))
    ).rejects.toThrow(NamespaceOwnedError)
    expect(await server.held(latest)).toBe(`3.0.0 ${v3.publishedAt}`)
  })

  test("under a latest key a value lower than the catalog's latest version is refused, on PUT as on GET", async () => {
    const alice = await generateKeyPair('Ed25519')
    const now = Date.now()
    const v1 = await signRecord(manifest(), alice, new Date(now - 2000))
    const v2 = await signRecord(manifest({ version: '2.0.0' }), alice, new Date(now - 1000))
    const catalog = await emptyCatalog()
    await catalog.add(v2, 'gossip')
    const server = dhtServer(catalog)
    await expect(server.put(latestKey(v1.id), v1)).rejects.toThrow(
      /older than 2.0.0, the latest version this node holds/
    )
    // its own version key takes it
    await server.put(versionKey(v1.id, v1.version), v1)
  })

  test('the selector picks the highest version, and of one version the first published', async () => {
    const alice = await generateKeyPair('Ed25519')
    const now = Date.now()
    const v1 = await signRecord(manifest(), alice, new Date(now - 3000))
    const v2 = await signRecord(manifest({ version: '2.0.0' }), alice, new Date(now - 2000))
    const v2again = await signRecord(manifest({ version: '2.0.0' }), alice, new Date(now - 1000))
    const key = fromString(latestKey(v1.id))
    const values = (...records: PackageRecord[]): Uint8Array[] => records.map(r => encodeRecord(r))
    expect(dhtSelector(key, values(v1, v2, v1))).toBe(1)
    expect(dhtSelector(key, values(v2again, v1, v2))).toBe(2)
    expect(dhtSelector(key, [fromString('junk'), ...values(v1)])).toBe(1)
  })

  test("a lookup of a latest key answers the catalog's latest version when the DHT gives an older one", async () => {
    const alice = await generateKeyPair('Ed25519')
    const now = Date.now()
    const v1 = await signRecord(manifest(), alice, new Date(now - 2000))
    const v2 = await signRecord(manifest({ version: '2.0.0' }), alice, new Date(now - 1000))
    const catalog = await emptyCatalog()
    await catalog.add(v2, 'gossip')
    const from = await peerOf()
    const dht = {
      // kad-dht's get: the value its selector chose, here an older version that is valid on its own
      get: async function* () {
        await Promise.resolve()
        yield { name: 'VALUE', from, value: encodeRecord(v1) }
      }
    }
    const failures: string[] = []
    const lookup = new PackageDht(
      {
        libp2p: { peerId: await peerOf(), services: { dht } } as unknown as PackageDhtComponents['libp2p'],
        catalog,
        feedback: { failure: peer => void failures.push(peer) },
        log: silent,
        tracer: trace.getTracer('test')
      },
      { timeoutMs: 5_000 }
    )
    expect((await lookup.lookup(latestKey(v1.id), undefined))?.version).toBe('2.0.0')
    expect(catalog.get(v1.id, '1.0.0')).toEqual(v1)
    expect(failures).toEqual([])
  })
})

describe('replays on gossip', () => {
  test('a record the node holds is ignored before any signature check, and each replay counts against its sender', async () => {
    const key = await generateKeyPair('Ed25519')
    const catalog = await emptyCatalog()
    // held with a signature that would not verify: a validator that checked it would reject
    const held = { ...(await signRecord(manifest(), key)), signature: 'A'.repeat(86) }
    await catalog.add(held, 'gossip')
    const gossip = gossipValidator(catalog)
    const [replayer, honest] = [await peerOf(), await peerOf()]

    for (let i = 0; i < 300; i++) {
      expect(await gossip.validate(replayer, { v: 1, record: wire(held) })).toBe(TopicValidatorResult.Ignore)
    }
    // not an invalid message: no reputation lost, and gossipsub does not count it as one
    expect(gossip.failures).toEqual([])
    expect(gossip.replays.replays(replayer.toString())).toBeCloseTo(300, 0)
    expect(gossip.replays.appSpecificScore(replayer.toString())).toBeLessThan(-29)
    expect(gossip.replays.appSpecificScore(honest.toString())).toBe(0)

    // a record is the whole of it: a held one with a field changed is verified, and rejected
    expect(await gossip.validate(honest, { v: 1, record: { ...held, title: 'Evil' } })).toBe(
      TopicValidatorResult.Reject
    )
    // a new record is verified and accepted
    const fresh = await signRecord(manifest({ id: 'acme/fresh' }), key)
    expect(await gossip.validate(honest, { v: 1, record: wire(fresh) })).toBe(TopicValidatorResult.Accept)
    expect(gossip.replays.replays(honest.toString())).toBe(0)
  })

  test('copies of a new record arriving together are verified once: the first accepted, the others ignored as replays', async () => {
    const key = await generateKeyPair('Ed25519')
    const catalog = await emptyCatalog()
    const gossip = gossipValidator(catalog)
    const [first, replayer] = [await peerOf(), await peerOf()]
    const record = await signRecord(manifest(), key)
    const verdicts = await Promise.all([
      gossip.validate(first, { v: 1, record: wire(record) }),
      gossip.validate(replayer, { v: 1, record: wire(record) }),
      gossip.validate(replayer, { v: 1, record: wire(record) })
    ])
    expect(verdicts).toEqual([
      TopicValidatorResult.Accept,
      TopicValidatorResult.Ignore,
      TopicValidatorResult.Ignore
    ])
    expect(gossip.replays.replays(replayer.toString())).toBeCloseTo(2, 0)
    expect(gossip.replays.replays(first.toString())).toBe(0)
  })

  test('copies arriving after the first was accepted, before it reached the catalog, are replays too', async () => {
    const key = await generateKeyPair('Ed25519')
    const catalog = await emptyCatalog()
    const gossip = gossipValidator(catalog)
    const sender = await peerOf()
    const record = await signRecord(manifest(), key)
    // one after the other, and nothing delivered in between: a burst faster than the catalog's writes
    const verdicts = []
    for (let i = 0; i < 5; i++) verdicts.push(await gossip.validate(sender, { v: 1, record: wire(record) }))
    expect(verdicts).toEqual([
      TopicValidatorResult.Accept,
      ...Array<TopicValidatorResult>(4).fill(TopicValidatorResult.Ignore)
    ])
    expect(gossip.replays.replays(sender.toString())).toBeCloseTo(4, 0)
  })

  test('the first announcement of a record that came by the DHT is forwarded, not a replay; the next is', async () => {
    const key = await generateKeyPair('Ed25519')
    const catalog = await emptyCatalog()
    const gossip = gossipValidator(catalog)
    const publisher = await peerOf()
    const record = await signRecord(manifest(), key)
    // a DHT server: the publisher's PUT_VALUE arrived before its announcement
    await catalog.add(record, 'dht')
    expect(await gossip.validate(publisher, { v: 1, record: wire(record) })).toBe(TopicValidatorResult.Accept)
    expect(gossip.replays.replays(publisher.toString())).toBe(0)
    expect(await gossip.validate(publisher, { v: 1, record: wire(record) })).toBe(TopicValidatorResult.Ignore)
    expect(gossip.replays.replays(publisher.toString())).toBeCloseTo(1, 0)
  })

  test("a peer's replays decay by half every half-life, are capped, and at most maxPeers peers are remembered", () => {
    const replays = new GossipReplays({ maxPeers: 2, halfLifeMs: 1000, maxReplays: 50 })
    for (let i = 0; i < 8; i++) replays.record('a', 0)
    expect(replays.replays('a', 0)).toBe(8)
    expect(replays.replays('a', 1000)).toBe(4)
    expect(replays.replays('a', 3000)).toBe(1)
    for (let i = 0; i < 100; i++) replays.record('b', 0)
    expect(replays.replays('b', 0)).toBe(50)
    // a third peer replays: the one that replayed longest ago ('a') is forgotten
    replays.record('c', 10)
    expect(replays.replays('a', 10)).toBe(0)
    expect(replays.replays('b', 10)).toBeGreaterThan(0)
    expect(replays.replays('c', 10)).toBe(1)
    expect(() => new GossipReplays({ scorePerReplay: 1 })).toThrow(RangeError)
  })
})

describe('the catalog on disk', () => {
  test('an add writes the record and its sequence entry in one batch, and memory changes only once it is stored', async () => {
    const datastore = new MemoryDatastore()
    const catalog = new PackageCatalog(datastore)
    await catalog.load()
    const key = await generateKeyPair('Ed25519')
    const record = await signAnything(key, manifest())
    // the disk fails: nothing half-written, nothing served that is not stored
    const batch = datastore.batch.bind(datastore)
    datastore.batch = () =>
      Object.assign(batch(), { commit: async () => await Promise.reject(new Error('disk full')) })
    await expect(catalog.add(record, 'local')).rejects.toThrow('disk full')
    expect([catalog.size, catalog.get(record.id)]).toEqual([0, undefined])
    const stored = []
    for await (const entry of datastore.query({})) stored.push(entry.key.toString())
    expect(stored.filter(k => !k.endsWith('/epoch'))).toEqual([])
    // the disk is back: the same add goes through, and a reload finds it
    datastore.batch = batch
    expect(await catalog.add(record, 'local')).toBe('added')
    const reloaded = new PackageCatalog(datastore)
    await reloaded.load()
    expect(reloaded.get(record.id)?.signature).toBe(record.signature)
    expect(reloaded.loadReport).toMatchObject({ records: 1, unreadable: 0, futureDated: 0 })
  })

  test('adds of one record at the same moment store it once', async () => {
    const catalog = await emptyCatalog()
    const record = await signAnything(await generateKeyPair('Ed25519'), manifest())
    const results = await Promise.all([1, 2, 3].map(async () => await catalog.add(record, 'gossip')))
    expect(results.sort()).toEqual(['added', 'known', 'known'])
    expect([catalog.size, catalog.cursor]).toEqual([1, 1])
  })

  test('at load, a record dated ahead of the clock is deleted and an unreadable one left out; both are reported', async () => {
    const datastore = new MemoryDatastore()
    const catalog = new PackageCatalog(datastore)
    await catalog.load()
    const key = await generateKeyPair('Ed25519')
    await catalog.add(await signAnything(key, manifest()), 'local')
    // stored by an older version, before intake refused far-future dates
    const ahead = await signAnything(
      key,
      manifest({ id: 'acme/pinned' }),
      new Date(Date.now() + 365 * 86_400_000)
    )
    await datastore.put(
      new Key('/marketplace/catalog/records/acme/pinned/1.0.0'),
      fromString(JSON.stringify(ahead))
    )
    await datastore.put(new Key('/marketplace/catalog/seq/000000000002'), fromString('acme/pinned/1.0.0'))
    await datastore.put(new Key('/marketplace/catalog/records/acme/broken/1.0.0'), fromString('{"id":'))
    await datastore.put(new Key('/marketplace/catalog/seq/000000000003'), fromString('acme/broken/1.0.0'))

    const reloaded = new PackageCatalog(datastore)
    await reloaded.load()
    expect(reloaded.loadReport).toMatchObject({ records: 1, unreadable: 1, futureDated: 1 })
    expect(reloaded.loadReport.examples.join('\n')).toMatch(
      /acme\/pinned\/1\.0\.0: dated .* ahead of this clock/
    )
    expect(reloaded.get('acme/pinned')).toBeUndefined()
    expect(await datastore.has(new Key('/marketplace/catalog/records/acme/pinned/1.0.0'))).toBe(false)
    expect(reloaded.get('acme/util')?.version).toBe('1.0.0')
  })
})

describe('catalog limits', () => {
  test('a publisher past its quota and a full catalog are refused; nothing held is evicted; senders are not blamed', async () => {
    const catalog = new PackageCatalog(new MemoryDatastore(), { maxRecords: 5, maxRecordsPerPublisher: 2 })
    await catalog.load()
    const genuine = await generateKeyPair('Ed25519')
    const held = await signAnything(genuine, manifest({ id: 'react/react', version: '2.0.0' }))
    expect(await catalog.add(held, 'local')).toBe('added')

    // one fresh key: two records, then its quota is spent
    const spammer = await generateKeyPair('Ed25519')
    const spam = await Promise.all(
      [1, 2, 3].map(async i => await signAnything(spammer, manifest({ id: `spam${i}/pkg` })))
    )
    const first = await intakeRecords(catalog, spam.map(wire), 'sync', 'relay')
    expect(first).toMatchObject({ invalid: 0, refused: 1 })
    expect(first.added).toHaveLength(2)

    // fresh keys fill the room left, then the catalog is full: the rest are refused, not invalid
    const keys = await Promise.all([1, 2, 3].map(async () => await generateKeyPair('Ed25519')))
    const more = await Promise.all(
      keys.map(async (key, i) => await signAnything(key, manifest({ id: `fresh${i}/pkg` })))
    )
    const second = await intakeRecords(catalog, more.map(wire), 'gossip', 'relay')
    expect(second).toMatchObject({ invalid: 0, refused: 1 })
    expect(catalog.size).toBe(5)
    await expect(
      catalog.add(await signAnything(genuine, manifest({ id: 'react/dom' })), 'local')
    ).rejects.toMatchObject({ name: 'CatalogQuotaError', reason: 'catalog-full' })
    // what was held stays, and comes in again as known
    expect(catalog.get('react/react')?.signature).toBe(held.signature)
    expect(await intakeRecords(catalog, [wire(held)], 'sync', 'relay')).toMatchObject({
      known: 1,
      refused: 0
    })
  })

  test('gossip of a record the catalog has no room for is ignored, and its sender is not lowered', async () => {
    const catalog = new PackageCatalog(new MemoryDatastore(), { maxRecordsPerPublisher: 1 })
    await catalog.load()
    const key = await generateKeyPair('Ed25519')
    await catalog.add(await signAnything(key, manifest({ id: 'acme/one' })), 'local')
    const { validate, failures } = gossipValidator(catalog)
    const sender = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const next = await signAnything(key, manifest({ id: 'acme/two' }))
    expect(await validate(sender, { v: 1, record: wire(next) })).toBe(TopicValidatorResult.Ignore)
    expect(failures).toEqual([])
  })

  test("a DHT server stores only what its catalog takes: a publisher's PUTs past its quota are refused", async () => {
    const catalog = new PackageCatalog(new MemoryDatastore(), { maxRecordsPerPublisher: 3 })
    await catalog.load()
    const validate = dhtValidator({ catalog, datastore: new MemoryDatastore() }, { addToCatalog: true })
    const key = await generateKeyPair('Ed25519')
    const records = await Promise.all(
      [1, 2, 3, 4, 5].map(async i => await signAnything(key, manifest({ id: `flood/pkg-${i}` })))
    )
    const outcomes = []
    for (const record of records) {
      outcomes.push(
        await validate(fromString(versionKey(record.id, record.version)), encodeRecord(record)).then(
          () => 'stored',
          (err: unknown) => (err as Error).name
        )
      )
    }
    expect(outcomes).toEqual(['stored', 'stored', 'stored', 'CatalogQuotaError', 'CatalogQuotaError'])
    expect(catalog.size).toBe(3)
    // the latest key of a record it holds is still taken (two keys per record)
    const held = records[0]!
    await validate(fromString(latestKey(held.id)), encodeRecord(held))
  })
})
