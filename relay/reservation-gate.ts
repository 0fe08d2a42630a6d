import { isLoopbackAddr } from '../src/core/network/relay-addrs.ts'
import type { RelayReservation } from '@libp2p/circuit-relay-v2'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Reservations one IP address may hold at once (`MAX_RESERVATIONS_PER_ADDRESS` in PROTOCOL.md §10). */
export const MAX_RESERVATIONS_PER_ADDRESS = 32

export interface ReservationGateInit {
  /** The relay's reservations now, by peer (`CircuitRelayService.reservations.entries()`). */
  reservations: () => Iterable<[PeerId, RelayReservation]>
  /** The address a peer is connected from, if it is connected. */
  addressOf: (peer: PeerId) => Multiaddr | undefined
  /** @default MAX_RESERVATIONS_PER_ADDRESS */
  max?: number
}

/**
 * The connection gater's `denyInboundRelayReservation`: true (deny) when the peer's IP address
 * holds `max` reservations already. Fresh keys cost nothing, an address does: without this, 64
 * identities from one address took 64 reservations in 6 s, and 1024 would have taken them all.
 * Loopback addresses are not counted: on this machine sit the tests' tabs and a reverse proxy, which
 * makes every client look alike (libp2p's WebSockets cannot see `X-Forwarded-For`); behind a
 * proxy, cap per address there.
 */
export function reservationGate(init: ReservationGateInit): (peer: PeerId) => boolean {
  const max = init.max ?? MAX_RESERVATIONS_PER_ADDRESS
  return peer => {
    const addr = init.addressOf(peer)
    if (addr == null || isLoopbackAddr(addr.toString())) return false
    const host = hostOf(addr)
    let held = 0
    for (const [holder, reservation] of init.reservations()) {
      // a peer renewing its own reservation does not count against itself
      if (holder.equals(peer)) continue
      if (hostOf(reservation.addr) === host && ++held >= max) return true
    }
    return false
  }
}

/** Connections one IP address may hold open at once (PROTOCOL.md §10). */
export const MAX_CONNECTIONS_PER_ADDRESS = 64

/**
 * The connection gater's `denyInboundConnection`: true (deny) when the IP address a new connection
 * comes from holds `max` open connections already, so that one address cannot take the relay's
 * 2048 connections with fresh keys. Loopback addresses are not counted (see {@link reservationGate}).
 */
export function connectionGate(init: {
  /** The relay's open connections' remote addresses now. */
  connections: () => Iterable<Multiaddr>
  /** @default MAX_CONNECTIONS_PER_ADDRESS */
  max?: number
}): (remoteAddr: Multiaddr) => boolean {
  const max = init.max ?? MAX_CONNECTIONS_PER_ADDRESS
  return remoteAddr => {
    if (isLoopbackAddr(remoteAddr.toString())) return false
    const host = hostOf(remoteAddr)
    if (host == null) return false
    let open = 0
    for (const addr of init.connections()) if (hostOf(addr) === host && ++open >= max) return true
    return false
  }
}

function hostOf(addr: Multiaddr): string | undefined {
  return addr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
}
