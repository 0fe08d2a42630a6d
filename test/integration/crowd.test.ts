/**
 * The relay is the gossip hub every tab first meets through. Many tabs share
 * one address (a NAT; 127.0.0.1 here): the relay must keep forwarding to and
 * from all of them. (gossipsub's default IP colocation penalty graylisted
 * every peer beyond the tenth from one address.)
 */
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { fromString, toString } from 'uint8arrays'
import { afterAll, expect, test } from 'vitest'
import { DISCOVERY_TOPIC } from '../../src/core/constants.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

const peers: Array<Libp2p<{ pubsub: GossipSub }>> = []
let cleanup: () => Promise<void> = async () => {}

afterAll(async () => {
  await Promise.all(peers.map(async p => await p.stop()))
  await cleanup()
})

test('sixteen peers from one address all receive each other’s announcements through the relay', async () => {
  const started = await startTestRelay()
  cleanup = started.cleanup
  const relayAddr = multiaddr(started.relay.multiaddrs()[0])
  const received = new Map<number, Set<string>>()
  for (let i = 0; i < 16; i++) {
    const peer = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
    })
    peer.services.pubsub.subscribe(DISCOVERY_TOPIC)
    received.set(i, new Set())
    peer.services.pubsub.addEventListener('message', evt => received.get(i)?.add(toString(evt.detail.data)))
    await peer.dial(relayAddr)
    peers.push(peer)
  }
  await waitUntil(
    'every peer subscribed at the relay',
    () => started.relay.libp2p.services.pubsub.getSubscribers(DISCOVERY_TOPIC).length >= 16,
    15_000
  )
  // let the relay's heartbeat score everyone
  await new Promise(resolve => setTimeout(resolve, 2_500))
  for (const [i, peer] of peers.entries())
    await peer.services.pubsub.publish(DISCOVERY_TOPIC, fromString(`hello from ${i}`))
  await waitUntil(
    'all announcements everywhere',
    () => [...received.values()].every(set => set.size >= 15),
    15_000
  )
  // each peer heard every other one (its own messages are not delivered back)
  expect([...received.values()].map(set => set.size)).toEqual(Array.from({ length: 16 }, () => 15))
})
