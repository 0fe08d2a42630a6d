/**
 * js-libp2p identifies a connection once; when that one exchange times out (a relay slower than
 * the timeout, a paused tab), the peer store never learns the peer's protocols while the
 * connection lives. Two real nodes over WebSockets on 127.0.0.1: the listener holds back its
 * first identify answer, and the dialler's IdentifyRetry identifies the connection again.
 */
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterAll, expect, test } from 'vitest'
import { identifyRetry } from '../../src/core/network/identify-retry.ts'
import { waitUntil } from '../helpers/relay.ts'
import type { Libp2p, StreamHandler } from '@libp2p/interface'

const IDENTIFY = '/ipfs/id/1.0.0'
const MARKER = '/test/marker/1.0.0'
const nodes: Libp2p[] = []

afterAll(async () => {
  await Promise.all(nodes.map(async n => await n.stop()))
})

/** Protocols the peer store holds for `peer`, as `node` knows them. */
async function protocolsOf(node: Libp2p, peer: Libp2p): Promise<string[]> {
  return (await node.peerStore.get(peer.peerId).catch(() => undefined))?.protocols ?? []
}

test('a connection whose identify timed out is identified again, and the peer store learns the protocols', async () => {
  const listener = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  nodes.push(listener)
  await listener.handle(MARKER, stream => stream.abort(new Error('not used')))
  // the listener's first identify answer never comes: its stream is held open, unanswered
  const registrar = (
    listener as unknown as {
      components: { registrar: { getHandler: (p: string) => { handler: StreamHandler; options: object } } }
    }
  ).components.registrar
  const { handler, options } = registrar.getHandler(IDENTIFY)
  let held = 0
  await listener.handle(
    IDENTIFY,
    async (stream, connection) => {
      if (held++ === 0) return
      await handler(stream, connection)
    },
    { ...options, force: true }
  )

  const dialler = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify({ timeout: 1_000 }),
      identifyRetry: identifyRetry({ afterMs: 2_000, timeoutMs: 10_000 })
    }
  })
  nodes.push(dialler)
  const identified: string[] = []
  dialler.addEventListener('peer:identify', evt => identified.push(evt.detail.peerId.toString()))

  await dialler.dial(listener.getMultiaddrs()[0]!)
  // the first identify ran into the held stream and gave up after its 1 s
  await waitUntil('the first identify stream', () => held >= 1, 10_000)
  expect(await protocolsOf(dialler, listener)).not.toContain(MARKER)
  // the retry asks again, gets the answer, and the protocols are known
  await waitUntil(
    'the peer store has the protocols',
    async () => (await protocolsOf(dialler, listener)).includes(MARKER),
    30_000
  )
  expect(held).toBe(2)
  expect(identified).toEqual([listener.peerId.toString()])
  expect(dialler.services.identifyRetry.waiting).toBe(0)
})
