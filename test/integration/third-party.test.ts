/**
 * A node written from PROTOCOL.md alone (plain js-libp2p, none of our node
 * code) joins the network: it publishes, is found, and finds.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import canonicalize from 'canonicalize'
import { createLibp2p } from 'libp2p'
import { fromString, toString } from 'uint8arrays'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { MarketplaceNode } from '../../src/core/index.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'

const TOPIC = '/p2p-marketplace/packages/1.0.0'
let stopRelay: () => Promise<void>
let relayUrl: string
let stranger: Libp2p<{ pubsub: GossipSub; dht: KadDHT }>
/** The records the stranger publishes, which it serves to searches. */
const own: unknown[] = []
let tab: MarketplaceNode
const key = await generateKeyPair('Ed25519')

beforeAll(async () => {
  const started = await startTestRelay()
  stopRelay = started.cleanup
  relayUrl = started.relay.httpUrl
  const config = (await (await fetch(`${relayUrl}/config.json`)).json()) as { relays: string[] }
  stranger = await createLibp2p({
    privateKey: key,
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping({ maxOutboundStreams: 4 }),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      dht: kadDHT({
        protocol: '/p2p-marketplace/kad/1.0.0',
        clientMode: true,
        peerInfoMapper: passthroughMapper,
        validators: { mkt: async () => {} },
        selectors: { mkt: () => 0 }
      })
    }
  })
  stranger.services.pubsub.subscribe(TOPIC)
  await stranger.dial(multiaddr(config.relays[0]))
  // answer searches: PROTOCOL.md §6, one length-prefixed JSON message each way
  await stranger.handle('/p2p-marketplace/search/1.0.0', async stream => {
    const lp = lpStream(stream)
    const request = JSON.parse(toString((await lp.read()).subarray())) as { type: string }
    await lp.write(fromString(JSON.stringify({ records: request.type === 'search' ? own : [] })))
    await stream.close()
  })
  tab = await createMarketplaceNode({ configUrl: relayUrl })
  await tab.waitFor('online', { signal: AbortSignal.timeout(20_000) })
  await waitUntil('gossip mesh', () => stranger.services.pubsub.getSubscribers(TOPIC).length > 0, 20_000)
})

afterAll(async () => {
  await tab?.stop()
  await stranger?.stop()
  await stopRelay()
})

test('a node built from PROTOCOL.md publishes, is found, and finds', async () => {
  // §3: the record, its JCS encoding and the domain-separated signature
  const unsigned = {
    id: 'stranger/hello',
    version: '0.1.0',
    title: 'Hello from a stranger',
    description: 'Published by a node that only read PROTOCOL.md',
    license: 'MIT',
    tags: ['interop'],
    publisher: peerIdFromPrivateKey(key).toString(),
    publishedAt: new Date().toISOString()
  }
  const signature = await key.sign(fromString('p2p-marketplace/package-record/v1\n' + canonicalize(unsigned)))
  const record = { ...unsigned, signature: toString(signature, 'base64url') }
  own.push(record)
  const value = fromString(canonicalize(record) ?? '')

  // §5: both DHT keys, counting acknowledgements
  let acknowledged = 0
  for (const key of ['/mkt/stranger/hello/0.1.0', '/mkt/stranger/hello']) {
    for await (const event of stranger.services.dht.put(fromString(key), value)) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') acknowledged++
    }
  }
  expect(acknowledged).toBeGreaterThan(0)
  // §4: the gossip announcement
  await stranger.services.pubsub.publish(TOPIC, fromString(JSON.stringify({ v: 1, record })))

  // found by one of our tabs
  await waitUntil('the tab to receive it', () => tab.catalog.get('stranger/hello') != null, 10_000)
  const found = await tab.search({ text: 'stranger' })
  expect(found.packages.map(p => p.id)).toContain('stranger/hello')
  expect(found.packages[0]?.publisher).toBe(peerIdFromPrivateKey(key).toString())

  // finds: our tab publishes, the stranger asks the relay with the search protocol (§6)
  await tab.publish({
    id: 'tabs/answer',
    version: '1.0.0',
    title: 'The answer',
    description: 'forty-two',
    license: 'MIT'
  })
  const relayPeer = stranger.getConnections()[0]!.remotePeer
  await waitUntil(
    'relay to have it',
    async () => {
      const stream = await stranger.dialProtocol(relayPeer, '/p2p-marketplace/search/1.0.0')
      const lp = lpStream(stream)
      await lp.write(fromString(JSON.stringify({ type: 'search', query: { text: 'answer' } })))
      const answer = JSON.parse(toString((await lp.read()).subarray())) as { records: Array<{ id: string }> }
      await stream.close()
      return answer.records.some(r => r.id === 'tabs/answer')
    },
    10_000
  )
  // and the DHT (§5)
  let fromDht: { id: string; version: string } | undefined
  for await (const event of stranger.services.dht.get(fromString('/mkt/tabs/answer'))) {
    if (event.name === 'VALUE') fromDht = JSON.parse(toString(event.value)) as { id: string; version: string }
  }
  expect(fromDht).toMatchObject({ id: 'tabs/answer', version: '1.0.0' })
})
