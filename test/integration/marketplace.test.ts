import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { fromString, toString } from 'uint8arrays'
import {
  InvalidManifestError,
  NamespaceOwnedError,
  PACKAGES_TOPIC,
  SEARCH_PROTOCOL,
  VersionConflictError,
  createMarketplaceNode,
  encodeRecord,
  signRecord
} from '../../src/core/index.ts'
import { latestKey, versionKey } from '../../src/core/marketplace/dht-records.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { MarketplaceNode, PackageManifest, PackageRecord } from '../../src/core/index.ts'
import type { RelayHealth } from '../../relay/http.ts'
import type { Relay } from '../../relay/relay.ts'
import type { PrivateKey } from '@libp2p/interface'

const manifest = (over: Partial<PackageManifest> = {}): PackageManifest => ({
  id: 'alice/left-pad',
  version: '1.0.0',
  title: 'Left pad',
  description: 'Pads strings on the left, peer to peer',
  license: 'MIT',
  categories: ['text'],
  tags: ['string', 'padding'],
  ...over
})

const gossip = async (node: MarketplaceNode, payload: unknown): Promise<void> => {
  const data = payload instanceof Uint8Array ? payload : fromString(JSON.stringify(payload))
  await node.libp2p.services.pubsub.publish(PACKAGES_TOPIC, data)
}

describe('publishing and finding packages across a relay and five nodes', () => {
  let dataDir: string
  let relay: Relay
  let cleanup: () => Promise<void>
  let aliceKey: PrivateKey
  const nodes: MarketplaceNode[] = []
  const late: MarketplaceNode[] = []

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mp-market-'))
    ;({ relay, cleanup } = await startTestRelay({ dataDir }))
    aliceKey = await generateKeyPair('Ed25519')
    for (let i = 0; i < 5; i++) {
      nodes.push(
        await createMarketplaceNode({
          configUrl: relay.httpUrl,
          ...(i === 0 ? { privateKey: aliceKey } : {})
        })
      )
    }
    await Promise.all(
      nodes.map(async n => await n.waitFor('online', { signal: AbortSignal.timeout(20_000) }))
    )
    await waitUntil('direct mesh', () => nodes.every(n => n.status().directPeers === 4), 60_000)
    // gossip mesh on the packages topic
    await waitUntil(
      'gossip mesh',
      () => nodes.every(n => n.libp2p.services.pubsub.getSubscribers(PACKAGES_TOPIC).length >= 4),
      20_000
    )
  })

  afterAll(async () => {
    await Promise.all([...nodes, ...late].map(async n => await n.stop()))
    await cleanup()
    await rm(dataDir, { recursive: true, force: true })
  })

  test('a package published on one node is stored in the DHT, announced, and found by search on every other', async () => {
    const [alice, ...others] = nodes
    const result = await alice!.publish(manifest())
    expect(result).toMatchObject({ id: 'alice/left-pad', version: '1.0.0', dhtStored: true, announced: true })
    await waitUntil(
      'gossip delivery',
      () => others.every(n => n.catalog.get('alice/left-pad') != null),
      10_000
    )

    for (const node of others) {
      const byText = await node.search({ text: 'left pad' })
      expect(byText.packages.map(p => p.id)).toContain('alice/left-pad')
      const hit = byText.packages.find(p => p.id === 'alice/left-pad')!
      expect(hit.publisher).toBe(alice!.peerId)
      expect(hit.source).toBe('local')
      expect(byText.peersQueried).toBeGreaterThan(0)
      expect((await node.search({ text: '', tags: ['padding'] })).packages.map(p => p.id)).toContain(
        'alice/left-pad'
      )
      expect((await node.search({ text: 'pad', categories: ['text'] })).packages.map(p => p.id)).toContain(
        'alice/left-pad'
      )
      expect((await node.search({ text: 'pad', categories: ['crypto'] })).packages).toHaveLength(0)
    }
    // the relay keeps the catalog too
    expect(relay.catalog.get('alice/left-pad')?.version).toBe('1.0.0')
  })

  test('a node started after the publish finds it (catalog sync and search fan-out)', async () => {
    const joiner = await createMarketplaceNode({ configUrl: relay.httpUrl })
    late.push(joiner)
    await joiner.waitFor('online', { signal: AbortSignal.timeout(20_000) })
    await waitUntil('catalog sync from the relay', () => joiner.catalog.get('alice/left-pad') != null, 15_000)
    const result = await joiner.search({ text: 'left-pad' })
    expect(result.packages.map(p => p.id)).toContain('alice/left-pad')

    // a second late joiner that searches at once, before any sync: the fan-out or the DHT answers
    const eager = await createMarketplaceNode({
      configUrl: relay.httpUrl,
      service: { resyncAfterMs: 3_600_000 }
    })
    late.push(eager)
    await eager.waitFor('online', { signal: AbortSignal.timeout(20_000) })
    const found = await eager.getPackage('alice/left-pad')
    expect(found?.version).toBe('1.0.0')
  })

  test('two versions are both listed, and every version stays retrievable', async () => {
    const [alice, bob] = nodes
    await alice!.publish(manifest({ version: '1.1.0', description: 'Pads strings on the left, now faster' }))
    await waitUntil(
      '1.1.0 everywhere',
      () => nodes.every(n => n.catalog.get('alice/left-pad', '1.1.0') != null),
      10_000
    )
    expect(await bob!.listVersions('alice/left-pad')).toEqual(['1.1.0', '1.0.0'])
    expect((await bob!.getPackage('alice/left-pad', '1.0.0'))?.description).toBe(
      'Pads strings on the left, peer to peer'
    )
    expect((await bob!.getPackage('alice/left-pad'))?.version).toBe('1.1.0')
    const late0 = late[0]!
    expect(await late0.listVersions('alice/left-pad')).toEqual(['1.1.0', '1.0.0'])
  })

  test('bad input through the API gets a named error naming the field, and nothing is published', async () => {
    const [alice, bob] = nodes
    const before = alice!.catalog.size
    const error = await alice!
      .publish(manifest({ id: 'Alice/Bad Id', version: 'one', license: 'not a licence' }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidManifestError)
    expect((error as Error).name).toBe('InvalidManifestError')
    expect((error as InvalidManifestError).issues.map(i => i.field).sort()).toEqual([
      'id',
      'license',
      'version'
    ])
    await expect(
      alice!.publish({ ...manifest({ id: 'alice/x' }), extra: 1 } as unknown as PackageManifest)
    ).rejects.toThrow(/unknown field/)
    await expect(alice!.publish(manifest({ version: '1.0.5' }))).rejects.toThrow(VersionConflictError)
    await expect(alice!.publish(manifest({ version: '1.1.0' }))).rejects.toThrow(/immutable/)
    await expect(bob!.publish(manifest({ id: 'alice/intruder' }))).rejects.toThrow(NamespaceOwnedError)
    expect(alice!.catalog.size).toBe(before)
    // a valid publish from each of the two, sent after the refused ones: once both have reached
    // every node, anything the refused calls had let out would have arrived as well
    await alice!.publish(
      manifest({ id: 'alice/after-refusals', title: 'Sentinel', description: 'x', tags: [] })
    )
    await bob!.publish(manifest({ id: 'bob/after-refusals', title: 'Sentinel', description: 'x', tags: [] }))
    await waitUntil(
      'both valid publishes everywhere',
      () =>
        nodes.every(
          n => n.catalog.get('alice/after-refusals') != null && n.catalog.get('bob/after-refusals') != null
        ),
      10_000
    )
    for (const n of nodes) {
      expect(n.catalog.get('alice/x')).toBeUndefined()
      expect(n.catalog.get('alice/intruder')).toBeUndefined()
      expect(n.catalog.get('alice/left-pad', '1.0.5')).toBeUndefined()
      expect(n.catalog.get('alice/left-pad', '1.1.0')?.description).toBe(
        'Pads strings on the left, now faster'
      )
    }
  })

  test('a node on a temporary key publishes only when told so: a throwaway key takes no name by accident', async () => {
    const temporary = await createMarketplaceNode({ configUrl: relay.httpUrl, temporaryKey: true })
    try {
      await temporary.waitFor('online', { signal: AbortSignal.timeout(30_000) })
      const id = `${temporary.keyNamespace}/throwaway`
      await expect(temporary.publish(manifest({ id }))).rejects.toMatchObject({ name: 'TemporaryKeyError' })
      expect(temporary.catalog.get(id)).toBeUndefined()
      await expect(temporary.publish(manifest({ id }), { temporaryKey: true })).resolves.toMatchObject({ id })
    } finally {
      await temporary.stop()
    }
  })

  test('forged, tampered, malformed, oversized and backwards gossip is rejected, lowers the sender, and never reaches search', async () => {
    const [alice, mallory, receiver] = nodes
    const malloryId = mallory!.peerId
    const failuresBefore = receiver!.reputation.get(malloryId).failures
    const scoreBefore = receiver!.reputation.score(malloryId)
    const genuine = alice!.catalog.get('alice/left-pad', '1.1.0')!

    // a record claiming Alice as publisher but signed by Mallory's key
    const malloryKey = await generateKeyPair('Ed25519')
    const forgedBody = await signRecord(
      manifest({ id: 'alice/forged', version: '9.0.0', title: 'Forged zebra' }),
      malloryKey
    )
    const forged: PackageRecord = { ...forgedBody, publisher: alice!.peerId }
    // a genuine record with its description changed
    const tampered: PackageRecord = { ...genuine, description: 'Tampered quokka build' }
    // Alice's key, but 1.0.9 published after 1.1.0: a version going backwards
    const backwards = await signRecord(manifest({ version: '1.0.9', title: 'Backwards wombat' }), aliceKey)

    await gossip(mallory!, { v: 1, record: forged })
    await gossip(mallory!, { v: 1, record: tampered })
    await gossip(mallory!, fromString('{ this is not json'))
    await gossip(mallory!, {
      v: 1,
      record: { ...genuine, version: '7.0.0', description: 'x'.repeat(40_000) }
    })
    await gossip(mallory!, { v: 1, record: backwards })

    await waitUntil(
      'the receiver to reject all five',
      () => receiver!.reputation.get(malloryId).failures >= failuresBefore + 5,
      10_000
    )
    expect(receiver!.reputation.score(malloryId)).toBeLessThan(scoreBefore)
    for (const node of [receiver!, nodes[3]!, nodes[4]!]) {
      for (const text of ['zebra', 'quokka', 'wombat']) {
        expect((await node.search({ text })).packages).toHaveLength(0)
      }
      expect(node.catalog.get('alice/forged')).toBeUndefined()
      expect(node.catalog.get('alice/left-pad', '1.0.9')).toBeUndefined()
      expect(node.catalog.get('alice/left-pad', '1.1.0')?.description).toBe(genuine.description)
    }
  })

  test("records that reach the relay only by gossip (the publisher's PUT missed) are answered by the relay's DHT, the latest key holding the newest version", async () => {
    const [, carol, reader] = nodes
    const carolKey = await generateKeyPair('Ed25519')
    const older = await signRecord(
      manifest({ id: 'carol/gossip-only', version: '1.0.0', title: 'Gossip only' }),
      carolKey,
      new Date(Date.now() - 60_000)
    )
    const newer = await signRecord(
      manifest({ id: 'carol/gossip-only', version: '1.1.0', title: 'Gossip only' }),
      carolKey
    )
    // no DHT PUT at all, as when a publish's 5 s budget ran out; the newer version arrives first
    await gossip(carol!, { v: 1, record: newer })
    await waitUntil(
      'the relay catalog to hold 1.1.0',
      () => relay.catalog.get('carol/gossip-only') != null,
      10_000
    )
    await gossip(carol!, { v: 1, record: older })
    await waitUntil(
      'the relay catalog to hold 1.0.0',
      () => relay.catalog.get('carol/gossip-only', '1.0.0') != null,
      10_000
    )
    await relay.dhtMirrorIdle()

    /** Versions the relay's DHT answers for `key`, looked up from another node (a DHT client). */
    const fromRelay = async (key: string): Promise<string[]> => {
      const versions: string[] = []
      for await (const event of reader!.libp2p.services.dht.get(fromString(key), {
        signal: AbortSignal.timeout(10_000)
      })) {
        if (event.name === 'VALUE' && event.from.toString() === relay.peerId) {
          versions.push((JSON.parse(toString(event.value)) as PackageRecord).version)
        }
      }
      return versions
    }
    expect(await fromRelay(latestKey('carol/gossip-only'))).toEqual(['1.1.0'])
    expect(await fromRelay(versionKey('carol/gossip-only', '1.0.0'))).toEqual(['1.0.0'])
    expect(await fromRelay(versionKey('carol/gossip-only', '1.1.0'))).toEqual(['1.1.0'])
    const health = (await (await fetch(`${relay.httpUrl}/healthz`)).json()) as RelayHealth
    expect(health.dhtMirror).toMatchObject({ pending: 0, failures: 0 })
  })

  test("an older version PUT under a package's latest key by another peer is refused by the relay, whose DHT keeps answering the newest", async () => {
    const [alice, mallory, reader] = nodes
    // genuine, signed by Alice, and superseded by 1.1.0
    const old = alice!.catalog.get('alice/left-pad', '1.0.0')!
    expect(relay.catalog.get('alice/left-pad')?.version).toBe('1.1.0')
    const key = fromString(latestKey('alice/left-pad'))
    let acknowledged = 0
    for await (const event of mallory!.libp2p.services.dht.put(key, encodeRecord(old), {
      signal: AbortSignal.timeout(10_000)
    })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') acknowledged++
    }
    expect(acknowledged).toBe(0)
    const versions: string[] = []
    for await (const event of reader!.libp2p.services.dht.get(key, { signal: AbortSignal.timeout(10_000) })) {
      if (event.name === 'VALUE' && event.from.toString() === relay.peerId) {
        versions.push((JSON.parse(toString(event.value)) as PackageRecord).version)
      }
    }
    expect(versions).toEqual(['1.1.0'])
  })

  test("a held record replayed over gossip is ignored: delivered and forwarded nowhere, and the sender's gossipsub score drops", async () => {
    const [alice, , watcher, replayer, other] = nodes
    const genuine = alice!.catalog.get('alice/left-pad', '1.1.0')!
    let delivered = 0
    const onMessage = (evt: CustomEvent<{ topic: string; data: Uint8Array }>): void => {
      if (evt.detail.topic === PACKAGES_TOPIC && toString(evt.detail.data).includes('"alice/left-pad"'))
        delivered++
    }
    const pubsubs = [
      relay.libp2p.services.pubsub,
      watcher!.libp2p.services.pubsub,
      other!.libp2p.services.pubsub
    ]
    for (const pubsub of pubsubs) pubsub.addEventListener('message', onMessage)
    try {
      // each publish is a new gossipsub message (its own sequence number) carrying the same record
      for (let i = 0; i < 30; i++) await gossip(replayer!, { v: 1, record: genuine })
      const relayScore = (): number =>
        (relay.libp2p.services.pubsub as unknown as { getScore: (peer: string) => number }).getScore(
          replayer!.peerId
        )
      // -0.1 application score per replay, weighed 10 by gossipsub: -30 once all are counted
      await waitUntil(
        'the relay to count the replays in its score of the sender',
        () => relayScore() < -25,
        10_000
      )
      expect(relayScore()).toBeGreaterThan(-80) // a little each: not graylisted for 30
    } finally {
      for (const pubsub of pubsubs) pubsub.removeEventListener('message', onMessage)
    }
    expect(delivered).toBe(0)
  })

  test('reputation rises with fast answers and falls with timeouts', async () => {
    const [, , , slow, fast] = nodes
    // the slow node accepts search requests and never answers
    await slow!.libp2p.unhandle(SEARCH_PROTOCOL)
    await slow!.libp2p.handle(SEARCH_PROTOCOL, () => {}, { runOnLimitedConnection: true })

    const asker = await createMarketplaceNode({
      configUrl: relay.httpUrl,
      service: { fanOut: 10, enoughAnswers: 10, peerTimeoutMs: 1_000 }
    })
    late.push(asker)
    await asker.waitFor('online', { signal: AbortSignal.timeout(20_000) })
    // five WebRTC upgrades at once in a process that carries six nodes and the relay: on two
    // busy cores a dial can take its whole 20 s and be retried
    await waitUntil(
      'asker directly connected to the slow and fast nodes',
      () => {
        const direct = asker
          .peers()
          .filter(p => p.direct)
          .map(p => p.peerId)
        return direct.includes(slow!.peerId) && direct.includes(fast!.peerId)
      },
      60_000
    ).catch((err: unknown) => {
      const state = { peers: asker.peers(), dials: asker.dialStats }
      throw new Error(`${String(err)}; the asker: ${JSON.stringify(state)}`)
    })
    const slowBefore = asker.reputation.score(slow!.peerId)
    const fastSuccessesBefore = asker.reputation.get(fast!.peerId).successes

    const result = await asker.search({ text: 'pad' })
    expect(result.peersQueried).toBeGreaterThanOrEqual(2)
    // on two loaded cores the fast node's answer can miss the 1 s timeout as well (seen in a CI
    // run beside two CPU hogs): ask again, a bounded number of times, until it answers in time
    for (let i = 0; i < 10 && asker.reputation.get(fast!.peerId).successes <= fastSuccessesBefore; i++) {
      await asker.search({ text: 'pad' })
    }

    // the search itself does not wait for the slow peer; its request times out on its own
    await waitUntil(
      'the slow peer to time out',
      () => asker.reputation.get(slow!.peerId).failures >= 1,
      5_000
    )
    const fastAfter = asker.reputation.get(fast!.peerId)
    expect(asker.reputation.score(slow!.peerId)).toBeLessThan(slowBefore)
    // the average of answers that came in time: measured, and inside the 1 s peer timeout
    expect(fastAfter.avgResponseMs).toBeGreaterThan(0)
    expect(fastAfter.avgResponseMs).toBeLessThan(1_000)
    expect(fastAfter.successes).toBeGreaterThan(fastSuccessesBefore)
    // a peer we know nothing about scores 0.6 (success rate 1, recency 1); fast answers lift it to
    // the speed term's 0.85, unless one of its answers timed out on a loaded machine (the unit
    // tests check the formula itself)
    if (fastAfter.failures === 0) expect(asker.reputation.score(fast!.peerId)).toBeGreaterThan(0.8)
    expect(asker.reputation.score(fast!.peerId)).toBeGreaterThan(asker.reputation.score(slow!.peerId))
    // and peers() shows it
    const shown = asker.peers().find(p => p.peerId === fast!.peerId)
    expect(shown?.reputation).toBeCloseTo(asker.reputation.score(fast!.peerId))
    expect(shown?.avgResponseMs).toBeDefined()
  }, 120_000)
})
