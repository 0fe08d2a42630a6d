import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, test } from 'vitest'
import { connectionGate, reservationGate } from '../../relay/reservation-gate.ts'
import type { RelayReservation } from '@libp2p/circuit-relay-v2'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const freshPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

/** A relay's reservations and connections as the gate sees them; `reserve` is what a granted request adds. */
function relayState(): {
  reservations: Array<[PeerId, RelayReservation]>
  from: Map<string, Multiaddr>
  reserve: (peer: PeerId) => void
} {
  const reservations: Array<[PeerId, RelayReservation]> = []
  const from = new Map<string, Multiaddr>()
  return {
    reservations,
    from,
    reserve: peer => {
      const addr = from.get(peer.toString())
      if (addr == null) throw new Error('not connected')
      reservations.push([peer, { addr, expiry: new Date(Date.now() + 3_600_000) } as RelayReservation])
    }
  }
}

describe('reservations per address', () => {
  test('fresh keys from one address get at most `max` reservations; other addresses and renewals are not held back', async () => {
    const state = relayState()
    const deny = reservationGate({
      reservations: () => state.reservations,
      addressOf: peer => state.from.get(peer.toString()),
      max: 4
    })
    // an attacker with fresh keys, one address
    const granted: boolean[] = []
    for (let i = 0; i < 10; i++) {
      const peer = await freshPeer()
      state.from.set(peer.toString(), multiaddr(`/ip4/203.0.113.7/tcp/${40_000 + i}/ws`))
      const denied = deny(peer)
      granted.push(!denied)
      if (!denied) state.reserve(peer)
    }
    expect(granted.filter(Boolean)).toHaveLength(4)
    // a tab elsewhere still gets one, and a holder renewing is not denied by its own reservation
    const tab = await freshPeer()
    state.from.set(tab.toString(), multiaddr('/ip4/198.51.100.20/tcp/50000/ws'))
    expect(deny(tab)).toBe(false)
    expect(deny(state.reservations[0]![0])).toBe(false)
  })

  test('loopback clients (tests, a reverse proxy on this machine) and unknown peers are not counted', async () => {
    const state = relayState()
    const deny = reservationGate({
      reservations: () => state.reservations,
      addressOf: peer => state.from.get(peer.toString()),
      max: 1
    })
    for (let i = 0; i < 5; i++) {
      const peer = await freshPeer()
      state.from.set(peer.toString(), multiaddr(`/ip4/127.0.0.1/tcp/${40_000 + i}/ws`))
      expect(deny(peer)).toBe(false)
      state.reserve(peer)
    }
    expect(deny(await freshPeer())).toBe(false)
  })
})

describe('connections per address', () => {
  test('one address holds at most `max` connections; other addresses and loopback are not held back', () => {
    const open: Multiaddr[] = []
    const deny = connectionGate({ connections: () => open, max: 3 })
    const attacker = (port: number): Multiaddr => multiaddr(`/ip4/203.0.113.7/tcp/${port}/ws`)
    const granted: boolean[] = []
    for (let i = 0; i < 10; i++) {
      const addr = attacker(40_000 + i)
      granted.push(!deny(addr))
      if (granted.at(-1) === true) open.push(addr)
    }
    expect(granted.filter(Boolean)).toHaveLength(3)
    expect(deny(multiaddr('/ip4/198.51.100.20/tcp/50000/ws'))).toBe(false)
    for (let i = 0; i < 5; i++) open.push(multiaddr(`/ip4/127.0.0.1/tcp/${30_000 + i}/ws`))
    expect(deny(multiaddr('/ip4/127.0.0.1/tcp/31000/ws'))).toBe(false)
  })
})
