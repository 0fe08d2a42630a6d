/**
 * A peer written from PROTOCOL.md floods a relay with valid requests and records it is not owed:
 * DHT `PUT_VALUE`s of its own key far past the per-publisher quota, one record announced on gossip
 * 300 times, and 200 searches at once (PROTOCOL.md §4-§6, §10).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import canonicalize from 'canonicalize'
import { fromString, toString } from 'uint8arrays'
import { afterAll, expect, test } from 'vitest'
import { PACKAGES_TOPIC } from '../../src/core/constants.ts'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { RelayProcess, freePort } from '../helpers/relay-process.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import { createStranger } from '../helpers/stranger.ts'
import type { Relay } from '../../relay/relay.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'

const QUOTA = 1_000 // records of one publisher key a relay's catalog takes (RELAY_CATALOG_LIMITS)
const cleanups: Array<() => Promise<void>> = []

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
})

async function sign(key: PrivateKey, id: string, version = '1.0.0'): Promise<Record<string, unknown>> {
  const unsigned = {
    id,
    version,
    title: `Package ${id}`,
    description: 'flood',
    license: 'MIT',
    publisher: peerIdFromPrivateKey(key).toString(),
    publishedAt: new Date().toISOString()
  }
  const signature = await key.sign(fromString('p2p-marketplace/package-record/v1\n' + canonicalize(unsigned)))
  return { ...unsigned, signature: toString(signature, 'base64url') }
}

test('DHT PUTs past the publisher quota are refused: the relay stores what its catalog takes, and stays responsive', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mp-hostile-dht-'))
  const relay = new RelayProcess(dataDir, await freePort(), await freePort())
  cleanups.push(async () => await rm(dataDir, { recursive: true, force: true }))
  await relay.start()
  cleanups.push(async () => await relay.stop())
  const key = await generateKeyPair('Ed25519')
  const attacker = await createStranger(
    {
      dht: kadDHT({
        protocol: '/p2p-marketplace/kad/1.0.0',
        clientMode: true,
        peerInfoMapper: passthroughMapper,
        validators: { mkt: async () => {} },
        selectors: { mkt: () => 0 }
        // its components include the helper's ping service, which the map's type does not know of
      }) as (components: unknown) => KadDHT
    },
    key
  )
  cleanups.push(async () => await attacker.stop())
  const config = (await (await fetch(`${relay.url}/config.json`)).json()) as { relays: string[] }
  await attacker.dial(multiaddr(config.relays[0]))
  await waitUntil('the relay in the attacker’s routing table', async () => {
    for await (const peer of attacker.services.dht.getClosestPeers(fromString('/mkt/x')))
      if (peer != null) return true
    return false
  })

  const total = QUOTA + 50
  let acknowledged = 0
  let refused = 0
  const started = Date.now()
  // eight PUTs at a time, each to the version key of a new record of the attacker's key
  const queue = Array.from({ length: total }, (_, i) => i)
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = queue.shift(); i != null; i = queue.shift()) {
        const record = await sign(key, `flood/pkg-${i}`)
        let ok = false
        for await (const event of attacker.services.dht.put(
          fromString(`/mkt/flood/pkg-${i}/1.0.0`),
          fromString(canonicalize(record) ?? ''),
          { signal: AbortSignal.timeout(30_000) }
        )) {
          if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') ok = true
        }
        if (ok) acknowledged++
        else refused++
      }
    })
  )
  const health = await relay.health()
  console.log(
    `hostile DHT: ${total} PUTs in ${Date.now() - started} ms: ${acknowledged} stored, ${refused} refused; the relay holds ${health.packages} records; event loop busy at most ${health.eventLoopBusyMaxMs} ms, peak RSS ${relay.peakRssMb().toFixed(0)} MB`
  )
  expect(acknowledged).toBe(QUOTA)
  expect(refused).toBe(total - QUOTA)
  expect(health.packages).toBe(QUOTA)
  expect(health.eventLoopBusyMaxMs).toBeLessThan(200)
  expect(relay.peakRssMb()).toBeLessThan(500)
}, 300_000)

/** Subscribes `peer` to the packages topic, connects it to the relay, and waits until each sees the other there. */
async function joinTopic(relay: Relay, peer: Libp2p<{ pubsub: GossipSub }>): Promise<void> {
  peer.services.pubsub.subscribe(PACKAGES_TOPIC)
  await peer.dial(multiaddr(relay.multiaddrs()[0]))
  await waitUntil(
    'the relay and the peer to see each other on the packages topic',
    () =>
      relay.libp2p.services.pubsub.getSubscribers(PACKAGES_TOPIC).some(p => p.equals(peer.peerId)) &&
      peer.services.pubsub.getSubscribers(PACKAGES_TOPIC).some(p => p.equals(relay.libp2p.peerId)),
    20_000
  )
}

test('one record announced 300 times on gossip is taken and forwarded once, and its sender falls below the graylist threshold', async () => {
  const { relay, cleanup } = await startTestRelay()
  cleanups.push(cleanup)
  const key = await generateKeyPair('Ed25519')
  const sender = await createStranger({ pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }, key)
  cleanups.push(async () => await sender.stop())
  await joinTopic(relay, sender)
  // another peer on the topic counts what the relay forwards to it
  const listener = await createStranger({ pubsub: gossipsub() })
  cleanups.push(async () => await listener.stop())
  let forwarded = 0
  listener.services.pubsub.addEventListener('message', evt => {
    if (evt.detail.topic === PACKAGES_TOPIC) forwarded++
  })
  await joinTopic(relay, listener)
  const added: string[] = []
  relay.catalog.addEventListener('package', evt => added.push(evt.detail.record.id))
  const record = await sign(key, 'replayed/pkg')
  const data = fromString(JSON.stringify({ v: 1, record }))
  // the implementation's score lookup (the GossipSub interface does not list it)
  const scores = relay.libp2p.services.pubsub as unknown as { getScore: (peerId: string) => number }
  let delivered = 0
  for (let i = 0; i < 300; i++)
    delivered += (await sender.services.pubsub.publish(PACKAGES_TOPIC, data)).recipients.length
  expect(delivered).toBe(300)
  await waitUntil(
    'the relay to score the replays',
    () => scores.getScore(sender.peerId.toString()) < -80,
    30_000
  )
  await waitUntil('the listener to get the record', () => forwarded > 0, 20_000)
  console.log(
    `hostile gossip: 300 announcements of one record: taken ${added.length} time(s), forwarded ${forwarded} time(s); the sender's score ${scores.getScore(sender.peerId.toString()).toFixed(1)}`
  )
  expect(added).toEqual(['replayed/pkg'])
  expect(forwarded).toBe(1)
  expect(relay.catalog.size).toBe(1)
}, 120_000)

test('a peer asking 200 searches as fast as it can gets about 40 a second answered, the rest refused as rate-limited; another peer is served as usual', async () => {
  const { relay, cleanup } = await startTestRelay()
  cleanups.push(cleanup)
  const asker = await createStranger({})
  cleanups.push(async () => await asker.stop())
  await asker.dial(multiaddr(relay.multiaddrs()[0]))
  const search = async (): Promise<string> => {
    const stream = await asker.dialProtocol(
      multiaddr(relay.multiaddrs()[0]),
      '/p2p-marketplace/search/1.0.0',
      {
        signal: AbortSignal.timeout(30_000)
      }
    )
    const lp = lpStream(stream)
    await lp.write(fromString(JSON.stringify({ type: 'search', query: { text: 'anything' } })))
    const answer = JSON.parse(toString((await lp.read()).subarray())) as {
      records?: unknown[]
      error?: { code: string }
    }
    await stream.close()
    return answer.error?.code ?? 'answered'
  }
  const started = Date.now()
  // eight at a time: a connection takes at most 16 inbound streams of the protocol
  const outcomes: string[] = []
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (outcomes.length < 200) {
        const i = outcomes.push('pending') - 1
        outcomes[i] = await search()
      }
    })
  )
  const seconds = Math.ceil((Date.now() - started) / 1000)
  const answered = outcomes.filter(o => o === 'answered').length
  const limited = outcomes.filter(o => o === 'rate-limited').length
  console.log(
    `hostile search: 200 searches in ${Date.now() - started} ms: ${answered} answered, ${limited} rate-limited`
  )
  expect(answered + limited).toBe(200)
  expect(limited).toBeGreaterThan(0)
  expect(answered).toBeLessThanOrEqual(40 * (seconds + 1))
  // the budget is the asker's own: a tab still searches the relay
  const tab = await createMarketplaceNode({ config: relay.runtimeConfig() })
  cleanups.push(async () => await tab.stop())
  await tab.waitFor('online', { signal: AbortSignal.timeout(30_000) })
  const result = await tab.search({ text: 'anything' })
  expect(result.peersQueried).toBeGreaterThan(0)
}, 120_000)
