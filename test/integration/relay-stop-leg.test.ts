/**
 * The relay's STOP leg (patches/@libp2p+circuit-relay-v2+4.2.13.patch). js-libp2p's relay
 * server opened the STOP stream on the first connection it listed for the destination;
 * a tab that had just reconnected was often still listed on its old connection, whose
 * muxer was closed, and every failure there was answered MALFORMED_MESSAGE, the
 * catch-all for a bad request. Seen 245 times in one stress run (docs/direct-mesh.md).
 */
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, expect, test } from 'vitest'
import { waitUntil } from '../helpers/relay.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'
let nodes: Libp2p[] = []

afterEach(async () => {
  await Promise.all(nodes.map(async n => await n.stop()))
  nodes = []
})

async function start(relayServer: boolean): Promise<Libp2p> {
  const common = { connectionEncrypters: [noise()], streamMuxers: [yamux()] }
  const node: Libp2p = relayServer
    ? await createLibp2p({
        ...common,
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
        transports: [webSockets()],
        services: { identify: identify(), relay: circuitRelayServer() }
      })
    : await createLibp2p({
        ...common,
        addresses: { listen: ['/p2p-circuit'] },
        transports: [webSockets(), circuitRelayTransport()],
        services: { identify: identify() }
      })
  nodes.push(node)
  return node
}

/** A relay, a destination holding a reservation on it, and a dialer connected to it. */
async function network(): Promise<{ relay: Libp2p; target: Libp2p; dialer: Libp2p; circuit: Multiaddr }> {
  const relay = await start(true)
  const [target, dialer] = [await start(false), await start(false)]
  const relayAddr = relay.getMultiaddrs()[0]!
  await Promise.all([target.dial(relayAddr), dialer.dial(relayAddr)])
  await waitUntil(
    'the destination holds a reservation',
    () => target.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit')),
    10_000
  )
  return {
    relay,
    target,
    dialer,
    circuit: relayAddr.encapsulate(`/p2p-circuit/p2p/${target.peerId.toString()}`)
  }
}

test('a destination that cannot take the circuit is answered CONNECTION_FAILED, not MALFORMED_MESSAGE', async () => {
  const { target, dialer, circuit } = await network()
  await target.unhandle(STOP_PROTOCOL)
  await expect(dialer.dial(circuit, { signal: AbortSignal.timeout(20_000) })).rejects.toThrow(
    /status CONNECTION_FAILED/
  )
})

test('a stale connection listed first for the destination is skipped for its live one', async () => {
  const { relay, target, dialer, circuit } = await network()
  // what the relay saw after a tab reconnected: the old connection still listed, newest, its muxer closed
  const stale = {
    id: 'stale',
    status: 'open',
    remotePeer: target.peerId,
    timeline: { open: Date.now() + 60_000 },
    newStream: async () =>
      await Promise.reject(
        Object.assign(new Error('The connection muxer is "closed" and not "open"'), {
          name: 'ConnectionClosedError'
        })
      )
  } as unknown as Connection
  const manager = (relay as unknown as { components: { connectionManager: Libp2p } }).components
    .connectionManager
  const listed = manager.getConnections.bind(manager)
  manager.getConnections = (peer?: PeerId) =>
    peer?.equals(target.peerId) === true ? [stale, ...listed(peer)] : listed(peer)

  const conn = await dialer.dial(circuit, { signal: AbortSignal.timeout(20_000) })
  expect(conn.remotePeer.equals(target.peerId)).toBe(true)
  expect(conn.limits).toBeDefined() // relayed, through the live connection
})
