import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { fromString, toString } from 'uint8arrays'
import { MarketplaceNode } from '../../src/core/index.ts'
import { freePort, startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { NodeStatus, PeerChange } from '../../src/core/index.ts'
import type { RelayConfig } from '../../relay/config.ts'
import type { Relay } from '../../relay/relay.ts'

const NODES = 5
// raw gossip on a topic of its own: the packages topic only carries valid signed records
const TOPIC = '/p2p-marketplace/test-chat/1.0.0'

describe('a relay and five Node peers', () => {
  let dataDir: string
  let config: Partial<RelayConfig>
  let relay: Relay
  const nodes: MarketplaceNode[] = []
  /** The first node's `peer` events. */
  const changes: PeerChange[] = []

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mp-network-'))
    // fixed ports so that a restarted relay is reachable at the same address
    config = { dataDir, port: await freePort(), relayPort: await freePort() }
    relay = (await startTestRelay(config)).relay
    for (let i = 0; i < NODES; i++) {
      const node = new MarketplaceNode({ configUrl: relay.httpUrl })
      if (i === 0) node.addEventListener('peer', evt => changes.push(evt.detail))
      await node.start()
      nodes.push(node)
    }
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async n => await n.stop()))
    await relay?.stop().catch(() => {})
    await rm(dataDir, { recursive: true, force: true })
  })

  test('every node bootstraps from the runtime config and goes online with a reservation', async () => {
    await Promise.all(
      nodes.map(async n => await n.waitFor('online', { signal: AbortSignal.timeout(20_000) }))
    )
    for (const node of nodes) {
      const status = node.status()
      expect(status.state).toBe('online')
      expect(status.relays).toBe(1)
      expect(
        node.libp2p.getMultiaddrs().some(ma => ma.toString().includes(`/p2p/${relay.peerId}/p2p-circuit`))
      ).toBe(true)
    }
    expect(relay.libp2p.services.relay.reservations.size).toBe(NODES)
  })

  test('every pair of nodes upgrades to a direct WebRTC connection', async () => {
    await waitUntil('full direct mesh', () => nodes.every(n => n.status().directPeers === NODES - 1), 60_000)
    for (const node of nodes) {
      const direct = node.libp2p
        .getConnections()
        .filter(c => c.direct && c.remoteAddr.toString().includes('/webrtc'))
      expect(new Set(direct.map(c => c.remotePeer.toString())).size).toBe(NODES - 1)
      expect(direct.every(c => c.limits == null)).toBe(true)
      for (const peer of node.peers().filter(p => !p.relay)) {
        expect(peer).toMatchObject({ direct: true, transport: 'webrtc' })
      }
    }
    // the first node reported each upgrade as a peer event
    const upgraded = new Set(changes.filter(c => c.change === 'upgraded').map(c => c.peerId))
    expect([...upgraded].sort()).toEqual(
      nodes
        .slice(1)
        .map(n => n.peerId)
        .sort()
    )
    expect(changes.some(c => c.peerId === relay.peerId && c.change === 'connected')).toBe(true)
  })

  test('a gossip message published by one node reaches all the others', async () => {
    const received = new Map<string, string[]>()
    for (const node of nodes) {
      node.libp2p.services.pubsub.subscribe(TOPIC)
      node.libp2p.services.pubsub.addEventListener('message', evt => {
        if (evt.detail.topic !== TOPIC) return
        received.set(node.peerId, [...(received.get(node.peerId) ?? []), toString(evt.detail.data)])
      })
    }
    const [sender, ...others] = nodes
    if (sender == null) throw new Error('no nodes')
    await waitUntil(
      'gossip mesh',
      () => sender.libp2p.services.pubsub.getSubscribers(TOPIC).length >= NODES - 1,
      20_000
    )
    const result = await sender.libp2p.services.pubsub.publish(TOPIC, fromString('hello from the first node'))
    expect(result.recipients.length).toBeGreaterThan(0)
    await waitUntil(
      'delivery to every other node',
      () => others.every(n => received.get(n.peerId)?.includes('hello from the first node') === true),
      10_000
    )
    expect(received.has(sender.peerId)).toBe(false)
  })

  test('a relay restarted on the same DATA_DIR keeps its peer id and every node reconnects and re-reserves', async () => {
    const oldPeerId = relay.peerId
    const wentOffline = nodes.map(
      async n =>
        await new Promise<void>(resolve => {
          const onStatus = (evt: CustomEvent<NodeStatus>): void => {
            if (evt.detail.relays === 0) {
              n.removeEventListener('status', onStatus)
              resolve()
            }
          }
          n.addEventListener('status', onStatus)
        })
    )
    await relay.stop()
    await Promise.all(wentOffline)
    expect(changes.some(c => c.peerId === oldPeerId && c.change === 'disconnected')).toBe(true)
    expect(changes.some(c => c.change === 'disconnected' && c.peerId !== oldPeerId)).toBe(false)
    for (const node of nodes) expect(node.status().relays).toBe(0)

    relay = (await startTestRelay(config)).relay
    expect(relay.peerId).toBe(oldPeerId)

    await Promise.all(
      nodes.map(async n => await n.waitFor('online', { signal: AbortSignal.timeout(30_000) }))
    )
    await waitUntil(
      'all reservations back on the relay',
      () => relay.libp2p.services.relay.reservations.size === NODES,
      15_000
    )
    for (const node of nodes) {
      expect(node.status()).toMatchObject({ state: 'online', relays: 1 })
    }
    // direct connections between nodes do not depend on the relay
    expect(nodes.every(n => n.status().directPeers === NODES - 1)).toBe(true)
  })

  test('a node that leaves frees its reservation slot at once, not at the end of its 2 h TTL', async () => {
    const leaving = new MarketplaceNode({ configUrl: relay.httpUrl })
    await leaving.start()
    await leaving.waitFor('online', { signal: AbortSignal.timeout(20_000) })
    await waitUntil('its reservation', () =>
      relay.libp2p.services.relay.reservations.has(leaving.libp2p.peerId)
    )
    await leaving.stop()
    await waitUntil('its slot freed', () => relay.libp2p.services.relay.reservations.size === NODES, 10_000)
  })
})
