/**
 * A relay connection is not a reservation. The circuit transport tries to
 * reserve once per connection; when the relay refuses (it is full) or the
 * attempt times out on a starved machine, nothing tries again while that
 * connection lives, and the peer stays connected but unreachable. The keeper
 * notices and reconnects, which gives the transport a fresh attempt.
 */
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterAll, expect, test } from 'vitest'
import { RelayKeeper } from '../../src/core/network/relay-keeper.ts'
import { waitUntil } from '../helpers/relay.ts'
import type { RelayState } from '../../src/core/network/relay-keeper.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

/** How long the relay's one slot stays taken by the first peer. */
const SLOT_TTL_MS = 8_000

const nodes: Libp2p[] = []
let keeper: RelayKeeper | undefined

afterAll(async () => {
  keeper?.stop()
  await Promise.all(nodes.map(async n => await n.stop()))
})

async function start(options: Libp2pOptions<Record<string, unknown>>): Promise<Libp2p> {
  const node = await createLibp2p({
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...options
  })
  nodes.push(node)
  return node
}

/** A peer as a tab is one: asks for a reservation on whichever relay it meets. */
async function startClient(): Promise<Libp2p> {
  return await start({
    addresses: { listen: ['/p2p-circuit'] },
    transports: [webSockets(), circuitRelayTransport({ reservationCompletionTimeout: 5_000 })],
    services: { identify: identify() }
  })
}

function reservedOn(node: Libp2p, relay: Libp2p): boolean {
  return node
    .getMultiaddrs()
    .some(ma => ma.toString().includes(`/p2p/${relay.peerId.toString()}/p2p-circuit`))
}

test('a relay that refused our reservation is dialled again until it grants one', async () => {
  // js-libp2p's own relay server, with room for one reservation, held for SLOT_TTL_MS
  const relay = await start({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    services: {
      identify: identify(),
      relay: circuitRelayServer({ reservations: { maxReservations: 1, reservationTtl: SLOT_TTL_MS } })
    }
  })
  const relayAddr = relay.getMultiaddrs()[0]!

  const first = await startClient()
  await first.dial(relayAddr)
  await waitUntil('the first peer holds the only slot', () => reservedOn(first, relay), 10_000)

  const second = await startClient()
  const states: RelayState[] = []
  keeper = new RelayKeeper(
    { libp2p: second, log: second.logger.forComponent('test:relay-keeper') },
    {
      relays: [relayAddr],
      reservationStallMs: 1_000,
      onChange: () => states.push(...keeper!.states())
    }
  )
  keeper.start()

  await waitUntil(
    'the second peer is connected but refused',
    () => states.some(s => s.connected && !s.reserved),
    10_000
  )
  expect(reservedOn(second, relay)).toBe(false)
  await waitUntil(
    'the keeper notices the missing reservation and hangs up',
    () => states.some(s => !s.connected && s.lastError?.includes('without a reservation') === true),
    10_000
  )

  // the first peer's slot expires on the relay; one of the keeper's reconnections gets it
  await waitUntil(
    'the second peer holds a reservation',
    () => reservedOn(second, relay),
    SLOT_TTL_MS + 20_000
  )
  await waitUntil('the keeper reports it', () => keeper!.states()[0]?.reserved === true, 5_000)
  expect(keeper.states()[0]).toMatchObject({ connected: true, reserved: true, attempts: 0 })
  expect(keeper.states()[0]?.lastError).toBeUndefined()
})
