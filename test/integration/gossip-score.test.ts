/**
 * Invalid gossip costs its sender gossipsub standing (PROTOCOL.md §4): a peer written from
 * PROTOCOL.md publishes records that fail validation on the packages topic, and the relay's
 * gossipsub score of it falls below the thresholds where gossip stops and the peer is graylisted.
 */
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { fromString } from 'uint8arrays'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PACKAGES_TOPIC } from '../../src/core/constants.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import { createStranger } from '../helpers/stranger.ts'
import type { Relay } from '../../relay/relay.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

let relay: Relay
let cleanup: () => Promise<void>
let sender: Libp2p<{ pubsub: GossipSub }>

beforeAll(async () => {
  ;({ relay, cleanup } = await startTestRelay())
  sender = await createStranger({ pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) })
  sender.services.pubsub.subscribe(PACKAGES_TOPIC)
  await sender.dial(multiaddr(relay.multiaddrs()[0]))
  // both ways: a sender that has not yet heard the relay's subscription publishes to nobody
  // (allowPublishToZeroTopicPeers), and the score never moves (a loaded run timed out so)
  await waitUntil(
    'the relay and the sender to see each other on the topic',
    () =>
      relay.libp2p.services.pubsub.getSubscribers(PACKAGES_TOPIC).some(p => p.equals(sender.peerId)) &&
      sender.services.pubsub.getSubscribers(PACKAGES_TOPIC).some(p => p.equals(relay.libp2p.peerId)),
    20_000
  )
})

afterAll(async () => {
  await sender?.stop()
  await cleanup?.()
})

test('records that fail validation lower the sender below the gossip and graylist thresholds', async () => {
  // the implementation's score lookup (the GossipSub interface does not list it)
  const scores = relay.libp2p.services.pubsub as unknown as { getScore: (peerId: string) => number }
  const score = (): number => scores.getScore(sender.peerId.toString())
  expect(score()).toBeGreaterThanOrEqual(0)
  // ten announcements whose record is not signed by its publisher (bounded: ten messages)
  for (let i = 0; i < 10; i++) {
    const record = { id: `junk/pkg-${i}`, version: '1.0.0', signature: 'A'.repeat(86) }
    await sender.services.pubsub.publish(PACKAGES_TOPIC, fromString(JSON.stringify({ v: 1, record })))
  }
  await waitUntil('the relay to score the sender down', () => score() < -80, 20_000)
})
