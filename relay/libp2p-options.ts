import { isIP } from 'node:net'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { peerIdFromString } from '@libp2p/peer-id'
import { tryGetNetConfig } from '@libp2p/utils'
import { connectionLiveness } from '../src/core/network/connection-liveness.ts'
import { identifyRetry } from '../src/core/network/identify-retry.ts'
import type { IdentifyRetry } from '../src/core/network/identify-retry.ts'
import { DHT_PROTOCOL } from '../src/core/constants.ts'
import { DHT_DATASTORE_PREFIX } from '../src/core/marketplace/dht-records.ts'
import { marketplaceGossipsub } from '../src/core/network/libp2p-options.ts'
import { tlsRenewal } from './tls.ts'
import type { ConnectionLiveness } from '../src/core/network/connection-liveness.ts'
import type { TlsRenewal } from './tls.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Libp2p, MultiaddrConnection, PeerId, PrivateKey, TLSCertificate } from '@libp2p/interface'
import type { KadDHT, KadDHTInit } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Datastore } from 'interface-datastore'
import type { Libp2pOptions } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peerIdInAddr } from '../src/core/network/relay-addrs.ts'

export type RelayServices = {
  identify: Identify
  identifyPush: IdentifyPush
  identifyRetry: IdentifyRetry
  ping: Ping
  liveness: ConnectionLiveness
  relay: CircuitRelayService
  pubsub: GossipSub
  dht: KadDHT
  tlsRenewal: TlsRenewal
}

/** Sized for a real crowd of tabs, not libp2p's defaults (15 reservations, 128 KiB relayed). */
export const RELAY_LIMITS = {
  maxReservations: 1024,
  maxConnections: 2048,
  /** Relayed connections carry signalling and the odd fallback; direct WebRTC carries the rest. */
  relayedDurationMs: 10 * 60_000,
  relayedDataBytes: 4n * 1024n * 1024n
} as const

/** The relay's WebSockets listen multiaddr: `/tls/ws` (WSS) when it has a certificate. */
export function listenAddress(host: string, port: number, tls = false): string {
  const family = isIP(host)
  const proto = family === 6 ? 'ip6' : family === 4 ? 'ip4' : 'dns'
  return `/${proto}/${host}/tcp/${port}/${tls ? 'tls/ws' : 'ws'}`
}

export function relayLibp2pOptions(init: {
  privateKey: PrivateKey
  datastore: Datastore
  host: string
  relayPort: number
  dhtRecords: Pick<KadDHTInit, 'validators' | 'selectors'>
  /** gossipsub's application-specific score of a peer (the replays it sent, `GossipReplays`). */
  appSpecificScore?: (peerId: string) => number
  /** Other relays to peer with (not this one), each ending in `/p2p/<peer id>`. */
  relayPeers?: Multiaddr[]
  /** Addresses advertised (identify, `/config.json`) instead of the listen address. */
  announce?: string[]
  /** Serve WSS with this certificate (renewed through the `tlsRenewal` service). */
  tls?: TLSCertificate
  /** Denies a reservation (true) to a peer, e.g. one whose address holds too many (`reservationGate`). */
  denyReservation?: (peer: PeerId) => boolean
  /** Denies an inbound connection (true) from an address, e.g. one that holds too many (`connectionGate`). */
  denyConnection?: (remoteAddr: Multiaddr) => boolean
}): Libp2pOptions<RelayServices> {
  const relayPeers = init.relayPeers ?? []
  const announce = init.announce ?? []
  return {
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: {
      listen: [listenAddress(init.host, init.relayPort, init.tls != null)],
      ...(announce.length > 0 ? { announce } : {})
    },
    transports: [webSockets(init.tls != null ? { https: { cert: init.tls.cert, key: init.tls.key } } : {})],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // libp2p's monitor drops starved tabs (and their reservations) on one late ping; see ConnectionLiveness
    connectionMonitor: { enabled: false },
    connectionGater: {
      ...(init.denyReservation != null ? { denyInboundRelayReservation: init.denyReservation } : {}),
      ...(init.denyConnection != null
        ? {
            denyInboundConnection: (maConn: MultiaddrConnection) =>
              init.denyConnection?.(maConn.remoteAddr) ?? false
          }
        : {})
    },
    connectionManager: {
      maxConnections: RELAY_LIMITS.maxConnections,
      // every tab of a local test comes from 127.0.0.1: the default per-host
      // rate limit (5/s) would turn a relay restart into refused reconnections
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 256,
      // a relay full of tabs still accepts its peer relays, and prunes them last
      allow: peerRelayIps(relayPeers)
    },
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      // identify again a connection whose one identify timed out (a busy relay, a paused tab)
      identifyRetry: identifyRetry(),
      // libp2p's connection monitor and kad-dht both ping; with the default limit of
      // one outbound ping stream the monitor's heartbeat fails and it aborts the connection
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 4 }),
      // libp2p's default heartbeat (10 s), forgiving: a tab is dropped after three unanswered pings
      liveness: connectionLiveness({ intervalMs: 10_000, timeoutMs: 10_000 }),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: RELAY_LIMITS.maxReservations,
          defaultDurationLimit: RELAY_LIMITS.relayedDurationMs,
          defaultDataLimit: RELAY_LIMITS.relayedDataBytes
        },
        maxInboundHopStreams: 1024,
        maxOutboundStopStreams: 1024
      }),
      // peer relays exchange every message outside the mesh, whatever their scores
      pubsub: marketplaceGossipsub({
        directPeers: directPeers(relayPeers),
        ...(init.appSpecificScore != null ? { appSpecificScore: init.appSpecificScore } : {})
      }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        // the DHT mirror writes catalog records into this part of the datastore
        datastorePrefix: DHT_DATASTORE_PREFIX,
        peerInfoMapper: passthroughMapper,
        ...init.dhtRecords
      }),
      tlsRenewal: tlsRenewal()
    }
  }
}

/** Gossipsub direct peers: one entry per peer relay, with every address configured for it. */
function directPeers(relayPeers: Multiaddr[]): GossipsubOpts['directPeers'] {
  const byId = new Map<string, Multiaddr[]>()
  for (const ma of relayPeers) {
    const id = peerIdInAddr(ma)
    // the peer store keeps transport addresses; the peer id is the key
    if (id != null) byId.set(id, [...(byId.get(id) ?? []), ma.decapsulate(`/p2p/${id}`)])
  }
  return [...byId].map(([id, addrs]) => ({ id: peerIdFromString(id), addrs }))
}

/** The IP addresses of peer relays, for the connection manager's allow list (DNS names cannot go there). */
function peerRelayIps(relayPeers: Multiaddr[]): string[] {
  const ips = new Set<string>()
  for (const ma of relayPeers) {
    const net = tryGetNetConfig(ma)
    if (net?.type === 'ip4' || net?.type === 'ip6') ips.add(`/${net.type}/${net.host}`)
  }
  return [...ips]
}

/**
 * Frees a peer's reservation slot when the peer disconnects. js-libp2p's relay
 * server keeps a reservation for its whole TTL (2 h) after its peer is gone,
 * though nothing can be relayed to a peer without its connection; a relay that
 * met more than `maxReservations` tabs within 2 h would refuse every new one.
 */
export function freeReservationsOnDisconnect(libp2p: Libp2p<Pick<RelayServices, 'relay'>>): void {
  libp2p.addEventListener('peer:disconnect', evt => {
    const reservations = libp2p.services.relay.reservations
    const reservation = reservations.get(evt.detail)
    if (reservation == null) return
    // its expiry timer would otherwise delete the reservation the peer makes when it comes back
    reservation.signal.clear()
    reservations.delete(evt.detail)
  })
}
