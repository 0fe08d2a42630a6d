import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fromString } from 'uint8arrays'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadRelayIdentity } from '../../relay/identity.ts'
import { versionKey } from '../../src/core/marketplace/dht-records.ts'
import { DISCOVERY_TOPIC, PACKAGES_TOPIC, createMarketplaceNode, signRecord } from '../../src/core/index.ts'
import { encodeRecord } from '../../src/core/package/record.ts'
import { RelayProcess } from '../helpers/relay-process.ts'
import { freePort, startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { PackageEvent, PackageManifest, MarketplaceNode } from '../../src/core/index.ts'
import type { Relay, RelayHooks } from '../../relay/relay.ts'

/** A relay's place in the test network: fixed ports and identity, so a restart comes back the same. */
interface Site {
  dataDir: string
  port: number
  relayPort: number
  peerId: string
  /** Its libp2p address, as another relay's RELAY_PEERS names it. */
  addr: string
}

async function site(): Promise<Site> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mp-scale-out-'))
  // the identity is created up front so each relay's address is known before either starts
  const peerId = peerIdFromPrivateKey(await loadRelayIdentity(dataDir)).toString()
  const relayPort = await freePort()
  return {
    dataDir,
    port: await freePort(),
    relayPort,
    peerId,
    addr: `/ip4/127.0.0.1/tcp/${relayPort}/ws/p2p/${peerId}`
  }
}

const manifest = (name: string, title: string): PackageManifest => ({
  id: `bob/${name}`,
  version: '1.0.0',
  title,
  description: `${title}, published on the other relay's side`,
  license: 'MIT',
  tags: ['scale-out']
})

describe('two relays peered by RELAY_PEERS, a node on each', () => {
  let one: Site
  let two: Site
  let relay1: Relay
  let relay2: Relay
  /** Bootstrapped to relay 1 only. */
  let alice: MarketplaceNode
  /** Bootstrapped to relay 2 only. */
  let bob: MarketplaceNode
  const aliceEvents: PackageEvent[] = []
  const relay1Events: PackageEvent[] = []

  const startRelay = async (at: Site, hooks?: RelayHooks): Promise<Relay> =>
    (
      await startTestRelay(
        {
          dataDir: at.dataDir,
          port: at.port,
          relayPort: at.relayPort,
          // the same list for both relays: each skips its own entry
          relayPeers: [one.addr, two.addr]
        },
        hooks
      )
    ).relay
  const peered = (a: Relay, b: Relay): boolean =>
    a.peerRelays().every(p => p.connected) &&
    a.libp2p.getConnections(b.libp2p.peerId).some(c => c.status === 'open')
  /** `node` sees `peer` subscribed to the packages topic. */
  const subscribed = (node: Relay | MarketplaceNode, peer: Relay | MarketplaceNode): boolean =>
    node.libp2p.services.pubsub.getSubscribers(PACKAGES_TOPIC).some(p => p.equals(peer.libp2p.peerId))
  const finds = async (node: MarketplaceNode, text: string, id: string): Promise<boolean> =>
    (await node.search({ text })).packages.some(p => p.id === id)

  beforeAll(async () => {
    one = await site()
    two = await site()
  })

  afterAll(async () => {
    await Promise.all([alice, bob].map(async n => await n?.stop()))
    await Promise.all([relay1, relay2].map(async r => await r?.stop().catch(() => {})))
    await Promise.all([one, two].map(async s => await rm(s.dataDir, { recursive: true, force: true })))
    // node-datachannel (WebRTC in Node) keeps native threads alive until told to clean up
    ;(await import('node-datachannel')).cleanup()
  })

  test('a relay whose peer relay is down starts, serves its nodes and keeps dialing the peer', async () => {
    relay2 = await startRelay(two)
    expect(relay2.peerRelays().map(p => p.peerId)).toEqual([one.peerId])
    await waitUntil(
      'relay 2 to have retried relay 1',
      () => (relay2.peerRelays()[0]?.attempts ?? 0) >= 2,
      30_000
    )
    expect(relay2.peerRelays()[0]?.connected).toBe(false)
    expect(relay2.peerRelays()[0]?.lastError).toMatch(/WebSocket|ECONNREFUSED|refused/i)

    bob = await createMarketplaceNode({ configUrl: relay2.httpUrl })
    await bob.waitFor('online', { signal: AbortSignal.timeout(30_000) })
    await waitUntil(
      'bob to see relay 2 subscribed to the packages topic',
      () => subscribed(bob, relay2),
      30_000
    )
    // published while relay 1 does not exist yet: only catalog sync can carry it across
    const early = await bob.publish(manifest('early-bird', 'Early bird'))
    expect(early.announced).toBe(true)
    expect(relay2.catalog.get('bob/early-bird')).toBeDefined()
  })

  test('the relays peer over a direct, unlimited connection, as gossipsub direct peers and DHT servers', async () => {
    // from the start: relay 2 may sync into relay 1 before startRelay returns
    relay1 = await startRelay(one, { onPackage: event => relay1Events.push(event) })
    await waitUntil('relays peered both ways', () => peered(relay1, relay2) && peered(relay2, relay1), 30_000)

    for (const [a, b] of [
      [relay1, relay2],
      [relay2, relay1]
    ] as const) {
      const conns = a.libp2p.getConnections(b.libp2p.peerId).filter(c => c.status === 'open')
      expect(conns.length).toBeGreaterThan(0)
      for (const conn of conns) {
        expect(conn.limits).toBeUndefined()
        expect(conn.remoteAddr.toString()).not.toContain('/p2p-circuit')
      }
    }
    await waitUntil(
      'each relay to see the other subscribed to the packages topic',
      () => subscribed(relay1, relay2) && subscribed(relay2, relay1),
      30_000
    )
  })

  test('a package published on relay 2 before the relays peered is found from relay 1 (catalog sync)', async () => {
    // waits for the catalog's event, not for get(): the catalog holds a record (and get() finds
    // it) while it is still being persisted, before it announces it
    await waitUntil(
      'relay 1 to sync from relay 2',
      () => relay1Events.some(e => e.record.id === 'bob/early-bird'),
      30_000
    )
    expect(relay1.catalog.get('bob/early-bird')).toBeDefined()
    expect(relay1Events.find(e => e.record.id === 'bob/early-bird')).toMatchObject({
      source: 'sync',
      from: relay2.peerId
    })

    alice = await createMarketplaceNode({ configUrl: relay1.httpUrl })
    alice.addEventListener('package', evt => aliceEvents.push(evt.detail))
    await alice.waitFor('online', { signal: AbortSignal.timeout(30_000) })
    expect(alice.status().relayStates.map(r => r.peerId)).toEqual([relay1.peerId])

    await waitUntil(
      'alice to find it by search',
      async () => await finds(alice, 'early bird', 'bob/early-bird'),
      30_000
    )
    const found = await alice.getPackage('bob/early-bird')
    expect(found).toMatchObject({ version: '1.0.0', publisher: bob.peerId })
    // through relay 1 only: alice never connected to relay 2 or to bob
    expect(alice.libp2p.getConnections(relay2.libp2p.peerId)).toHaveLength(0)
    expect(alice.libp2p.getConnections(bob.libp2p.peerId)).toHaveLength(0)
  })

  test('a package published on relay 2 after peering reaches a node on relay 1 by gossip; DHT records resolve across', async () => {
    await waitUntil(
      'gossip subscriptions on both sides',
      () => subscribed(relay1, alice) && subscribed(bob, relay2),
      30_000
    )
    const result = await bob.publish(manifest('gossip-gull', 'Gossip gull'))
    expect(result).toMatchObject({ dhtStored: true, announced: true })

    await waitUntil(
      'the announcement to reach relay 1 and alice',
      () => [relay1Events, aliceEvents].every(events => events.some(e => e.record.id === 'bob/gossip-gull')),
      30_000
    )
    expect(aliceEvents.find(e => e.record.id === 'bob/gossip-gull')).toMatchObject({
      source: 'gossip',
      from: bob.peerId
    })
    expect(relay1Events.find(e => e.record.id === 'bob/gossip-gull')?.source).toBe('gossip')
    expect(await finds(alice, 'gossip gull', 'bob/gossip-gull')).toBe(true)
    expect((await alice.getPackage('bob/gossip-gull'))?.publisher).toBe(bob.peerId)

    // relay 1's DHT answers from its own copy: its DHT mirrors its catalog
    const answers = async (from: Relay, key: string): Promise<string[]> => {
      const peers: string[] = []
      for await (const event of from.libp2p.services.dht.get(fromString(key), {
        signal: AbortSignal.timeout(10_000)
      })) {
        if (event.name === 'VALUE') peers.push(event.from.toString())
      }
      return peers
    }
    expect(await answers(relay1, versionKey('bob/gossip-gull', '1.0.0'))).toEqual([relay1.peerId])

    // a record that exists only in relay 2's DHT (put by bob, never announced; bob's put
    // reaches relay 2 only, as a tab dials no relay but its own) resolves from relay 1 too:
    // relay 2 is a DHT server in relay 1's routing table
    const dhtOnly = await signRecord(
      { ...manifest('dht-only', 'DHT only'), id: 'dora/dht-only' },
      await generateKeyPair('Ed25519')
    )
    let acknowledged = 0
    for await (const event of bob.libp2p.services.dht.put(
      fromString(versionKey(dhtOnly.id, dhtOnly.version)),
      encodeRecord(dhtOnly),
      { signal: AbortSignal.timeout(10_000) }
    )) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') acknowledged++
    }
    expect(acknowledged).toBe(1)
    expect(relay1.catalog.get(dhtOnly.id)).toBeUndefined()
    let from: string[] = []
    await waitUntil(
      'relay 1 to get the DHT-only record from relay 2',
      async () => (from = await answers(relay1, versionKey(dhtOnly.id, dhtOnly.version))).length > 0,
      30_000
    )
    expect(from).toEqual([relay2.peerId])
  })

  test("tabs' discovery announcements stay on their own relay", async () => {
    type GossipEvent = CustomEvent<{ topic: string; from?: { toString: () => string } }>
    /** Authors of the discovery announcements each relay delivered, with counts. */
    const heard = (relay: Relay): { counts: Map<string, number>; stop: () => void } => {
      const counts = new Map<string, number>()
      const listener = (evt: GossipEvent): void => {
        const author = evt.detail.from?.toString()
        if (evt.detail.topic === DISCOVERY_TOPIC && author != null)
          counts.set(author, (counts.get(author) ?? 0) + 1)
      }
      relay.libp2p.services.pubsub.addEventListener('message', listener)
      return { counts, stop: () => relay.libp2p.services.pubsub.removeEventListener('message', listener) }
    }
    const at1 = heard(relay1)
    const at2 = heard(relay2)
    try {
      // each tab announces every second; relay 2 forwards bob's to relay 1, its direct peer
      await waitUntil(
        "three of each tab's announcements at its own relay",
        () => (at1.counts.get(alice.peerId) ?? 0) >= 3 && (at2.counts.get(bob.peerId) ?? 0) >= 3,
        30_000
      )
    } finally {
      at1.stop()
      at2.stop()
    }
    expect(at1.counts.has(bob.peerId)).toBe(false)
    expect(at2.counts.has(alice.peerId)).toBe(false)
  })

  test('relay 2 restarted: the relays re-peer, what was published meanwhile converges, and new publishes flow again', async () => {
    await relay2.stop()
    await waitUntil(
      'relay 1 to notice relay 2 is gone',
      () => relay1.peerRelays()[0]?.connected === false,
      30_000
    )

    await waitUntil(
      'bob to notice relay 2 is gone',
      () => bob.libp2p.getConnections(relay2.libp2p.peerId).length === 0,
      30_000
    )
    // bob publishes while his relay is down: only his own catalog has it
    const offline = await bob.publish(manifest('offline-owl', 'Offline owl'))
    expect(offline.announced).toBe(false)

    relay2 = await startRelay(two)
    expect(relay2.peerId).toBe(two.peerId)
    await bob.waitFor('online', { signal: AbortSignal.timeout(30_000) })
    await waitUntil('relays peered again', () => peered(relay1, relay2) && peered(relay2, relay1), 30_000)

    // relay 2 syncs it from bob, relay 1 from relay 2 (at once or at its next periodic sync)
    await waitUntil(
      'alice to find what bob published while apart',
      async () => await finds(alice, 'offline owl', 'bob/offline-owl'),
      60_000
    )

    await waitUntil(
      'gossip between the relays and bob again',
      () => subscribed(relay1, relay2) && subscribed(relay2, relay1) && subscribed(bob, relay2),
      30_000
    )
    const after = await bob.publish(manifest('second-wind', 'Second wind'))
    expect(after).toMatchObject({ dhtStored: true, announced: true })
    await waitUntil(
      'the new announcement to reach alice',
      () => aliceEvents.some(e => e.record.id === 'bob/second-wind'),
      30_000
    )
    expect(aliceEvents.find(e => e.record.id === 'bob/second-wind')?.source).toBe('gossip')
    expect(await finds(alice, 'second wind', 'bob/second-wind')).toBe(true)
    expect((await alice.getPackage('bob/second-wind'))?.publisher).toBe(bob.peerId)
  }, 120_000)
})

test('a bad RELAY_PEERS value stops the relay with status 2 and a message naming it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mp-scale-out-cli-'))
  try {
    const relay = new RelayProcess(dataDir, await freePort(), await freePort(), {
      RELAY_PEERS: '/ip4/127.0.0.1/tcp/9090/ws'
    })
    await expect(relay.start()).rejects.toThrow(
      /exited with 2:\s*relay: RELAY_PEERS \(--relay-peers\): "\/ip4\/127\.0\.0\.1\/tcp\/9090\/ws" does not end in \/p2p\/<peer id>/
    )
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})
