import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { connectionLiveness } from './connection-liveness.ts'
import { identifyRetry } from './identify-retry.ts'
import type { IdentifyRetry } from './identify-retry.ts'
import {
  DHT_PROTOCOL,
  DIRECT_DIAL_MAX_TIMEOUT_MS,
  DISCOVERY_TOPIC,
  INBOUND_UPGRADE_TIMEOUT_MS,
  PACKAGES_TOPIC,
  RESERVATION_TIMEOUT_MS
} from '../constants.ts'
import { relayAwareGater } from './gater.ts'
import type { RuntimeConfig } from '../config.ts'
import type { ConnectionLiveness } from './connection-liveness.ts'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { PeerDiscovery, PrivateKey } from '@libp2p/interface'
import type { KadDHT, KadDHTInit } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Datastore } from 'interface-datastore'
import type { Libp2pOptions } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The services every marketplace node runs. */
// a type alias (not an interface) so it satisfies libp2p's `ServiceMap` index signature
export type MarketplaceServices = {
  identify: Identify
  identifyPush: IdentifyPush
  identifyRetry: IdentifyRetry
  ping: Ping
  liveness: ConnectionLiveness
  pubsub: GossipSub
  dht: KadDHT
}

export interface NodeLibp2pInit {
  privateKey: PrivateKey
  datastore: Datastore
  config: RuntimeConfig
  relays: Multiaddr[]
  /** How often (ms) a tab re-announces its addresses on the discovery topic. */
  discoveryIntervalMs: number
  /** kad-dht validators and selectors of the marketplace's record namespace. */
  dhtRecords: Pick<KadDHTInit, 'validators' | 'selectors'>
  /** gossipsub's application-specific score of a peer (`GossipReplays.appSpecificScore`: the replays it sent). */
  appSpecificScore?: (peerId: string) => number
}

/**
 * libp2p options of a tab (or a Node peer acting like one): WebSockets to the
 * relay, circuit-relay for signalling, WebRTC between tabs, a client-mode DHT
 * on the marketplace's private protocol, and gossipsub.
 */
export function nodeLibp2pOptions(init: NodeLibp2pInit): {
  options: Libp2pOptions<MarketplaceServices>
  /**
   * The discovery service: its `peer` event fires on every announcement received (libp2p's own
   * `peer:discovery` only for peers new to the peer store). It announces this node's addresses
   * every `discoveryIntervalMs` (1 s in tabs), so a new reservation is known within a second.
   */
  discovery: () => PeerDiscovery | undefined
} {
  let discovery: PeerDiscovery | undefined
  const options: Libp2pOptions<MarketplaceServices> = {
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: {
      // `/p2p-circuit` asks for a reservation on a discovered relay, `/webrtc`
      // makes us dialable over WebRTC through that reservation
      listen: ['/p2p-circuit', '/webrtc']
    },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: init.config.iceServers } }),
      // a relay serving many busy tabs was seen answering a reservation after 10 s, to a tab
      // that had given up (the relay logged "failed to send confirmation response ... stream
      // closed"); the tab then sat unreserved until the keeper reconnected, breaking every
      // circuit through the relay. 30 s lets a slow answer arrive
      circuitRelayTransport({ reservationCompletionTimeout: RESERVATION_TIMEOUT_MS })
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: relayAwareGater(init.relays),
    // libp2p's monitor closes healthy connections on a busy machine; `liveness` replaces it
    connectionMonitor: { enabled: false },
    connectionManager: {
      // tabs are small: a few dozen peers is plenty
      maxConnections: 64,
      // the direct connector times each of its dials itself (20 s, longer for a pair whose dial timed out)
      dialTimeout: DIRECT_DIAL_MAX_TIMEOUT_MS,
      // the answering side of a WebRTC upgrade runs its whole handshake (signalling, ICE, the
      // data channel muxer) under the inbound upgrade timeout, 10 s by default, while the
      // dialling side allows 20 s: on a busy machine the answerer gave up first ("incoming
      // signaling error - TimeoutError") on handshakes the dialler was still completing
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
      // libp2p also cuts each address at 6 s by default, below dialTimeout: a tab dials a peer at
      // one address (its WebRTC one), and with 6 tabs on 2 busy cores legitimate WebRTC dials take
      // longer. Cut at 6 s, 9-19 dials failed per 6-tab mesh, leaving 3-12 duplicate direct
      // connections (the far side had completed them)
      addressDialTimeout: DIRECT_DIAL_MAX_TIMEOUT_MS
    },
    peerDiscovery: [
      components => {
        const instance = pubsubPeerDiscovery({
          interval: init.discoveryIntervalMs,
          topics: [DISCOVERY_TOPIC]
        })(components)
        discovery = instance
        return instance
      }
    ],
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      // identify again a connection whose one identify timed out (a busy relay, a paused tab)
      identifyRetry: identifyRetry(),
      // libp2p's connection monitor and kad-dht both ping; with the default limit of
      // one outbound ping stream the monitor's heartbeat fails and it aborts the connection
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 4 }),
      // a tab that crashes or loses its network says nothing: pinged every 5 s, it is
      // dropped after three pings in a row go unanswered (10 s each)
      liveness: connectionLiveness(),
      pubsub: marketplaceGossipsub(
        init.appSpecificScore != null ? { appSpecificScore: init.appSpecificScore } : {}
      ),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: true,
        ...init.dhtRecords,
        // local networks (and tests) run on 127.0.0.1: keep those addresses
        peerInfoMapper: passthroughMapper
      })
    }
  }
  return { options, discovery: () => discovery }
}

/**
 * Score parameters of the packages topic: only invalid messages count (P4, the square of a
 * peer's rejected messages, decaying by a tenth each second), so 4 rejected messages in a row cost
 * 16 points, past the −10 below which gossip is no longer exchanged with the peer, and 9 cost 81,
 * past the −80 of the graylist. Time in mesh and delivery counts stay out: the topic is quiet
 * (a message per publish), and rewarding or punishing deliveries there would score honest tabs by
 * how much others publish.
 */
export const PACKAGES_TOPIC_SCORE = createTopicScoreParams({
  topicWeight: 1,
  timeInMeshWeight: 0,
  firstMessageDeliveriesWeight: 0,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -1,
  invalidMessageDeliveriesDecay: 0.9
})

/**
 * Gossipsub as every marketplace node (tab or relay) runs it. The IP
 * colocation penalty is off: tabs share addresses legitimately (a home or
 * office NAT, a carrier NAT, 127.0.0.1 in tests), and with it on the relay
 * graylists every tab once more than ten have come from one address within
 * the hour scores are retained, so the hub silently stops forwarding.
 * `directPeers` (relays only): peers every message is exchanged with, outside the mesh.
 * `appSpecificScore`: the application's part of a peer's score (P5), here the
 * replays it sent (`GossipReplays`). On the packages topic, messages the
 * validator rejects (bad records, PROTOCOL.md §4) lower their sender's score
 * too (P4, {@link PACKAGES_TOPIC_SCORE}).
 */
export function marketplaceGossipsub(
  init: Pick<Partial<GossipsubOpts>, 'directPeers'> & { appSpecificScore?: (peerId: string) => number } = {}
): ReturnType<typeof gossipsub> {
  const { appSpecificScore, ...rest } = init
  return gossipsub({
    allowPublishToZeroTopicPeers: true,
    scoreParams: {
      IPColocationFactorWeight: 0,
      topics: { [PACKAGES_TOPIC]: PACKAGES_TOPIC_SCORE },
      ...(appSpecificScore != null ? { appSpecificScore } : {})
    },
    ...rest
  })
}
