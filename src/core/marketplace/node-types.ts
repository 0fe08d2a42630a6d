import type { IceCheck } from '../network/ice-check.ts'
import type { IceInfo, IcePath } from '../network/ice-path.ts'
import type { TracerProvider } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { NameProofsInit } from './name-proofs.ts'
import type { PackageEvent } from '../catalog/catalog.ts'
import type { MarketplaceServiceInit } from './marketplace-service.ts'
import type { RuntimeConfig } from '../config.ts'
import type { DirectDialState } from '../network/direct-connector.ts'
import type { RelayState } from '../network/relay-keeper.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/* The types of a marketplace node's public surface: its state, status, peers, events and options. */

export type NodeState = 'starting' | 'bootstrapping' | 'online' | 'offline'

/** `status()` of the contract, plus what a UI needs to explain it. */
export interface NodeStatus {
  state: NodeState
  /** Relays holding a reservation for us. */
  relays: number
  /** Connected peers other than relays. */
  peers: number
  /** Of those, peers with a direct (WebRTC) connection. */
  directPeers: number
  /** One line saying what the node is doing, e.g. "dialing relay (attempt 3)". */
  progress: string
  /** Per-relay connection and reservation state. */
  relayStates: RelayState[]
  /**
   * What this node's check of the runtime config's STUN/TURN servers found (in a browser, when
   * there are any): run in the background once libp2p has started.
   */
  ice?: IceCheck
}

/** One connected peer, as `peers()` reports it. */
export interface PeerSummary {
  peerId: string
  /** A direct connection (not through a relay) is open. */
  direct: boolean
  /** Transport of the best open connection: `webrtc`, `websockets`, `circuit-relay`, `memory`, … */
  transport: string
  /** 0..1, the seed formula fed by our requests to this peer. */
  reputation: number
  avgResponseMs?: number
  /** The peer is one of our relays. */
  relay: boolean
  /**
   * For a direct WebRTC connection, the way its packets go, from the selected ICE candidate pair:
   * `relay` through a TURN server, `srflx`/`prflx` through NAT mappings, `host` on one network.
   */
  path?: IcePath
  /** The selected pair's candidate types and round-trip time, when known. */
  ice?: IceInfo
  /**
   * For a tab that is not direct yet: why (the last dial's error and its class), how many
   * dials were made, and when the next one is due (epoch ms).
   */
  upgrade?: DirectDialState
}

export interface PeerChange {
  peerId: string
  /**
   * `upgrading`: the peer is still relayed and its upgrade to a direct connection moved on
   * (a dial started or failed; `peers()[].upgrade` says where it stands). `path`: the ICE path
   * of a new direct WebRTC connection is known (`peers()[].path`).
   */
  change: 'connected' | 'upgraded' | 'downgraded' | 'disconnected' | 'upgrading' | 'path'
}

/** Milestones of a node's start-up, in ms since the node was created (`performance.now()` clock). */
export interface NodeTimings {
  createdAt: number
  startedAt?: number
  relayConnectedAt?: number
  onlineAt?: number
  firstDirectAt?: number
}

export interface MarketplaceEvents {
  status: CustomEvent<NodeStatus>
  peer: CustomEvent<PeerChange>
  /** A new valid package record arrived (published here, gossiped, synced or found). */
  package: CustomEvent<PackageEvent>
  /** A span of this node ended (for live trace views). */
  span: CustomEvent<ReadableSpan>
}

/** Options of {@link createMarketplaceNode}. */
export interface MarketplaceNodeInit {
  /** Runtime configuration, as served by a relay. Either this or `configUrl`. */
  config?: RuntimeConfig
  /** URL of a relay (its HTTP origin) or of its `/config.json`. */
  configUrl?: string
  /** Where the node keeps its identity and state. @default an in-memory datastore */
  datastore?: Datastore
  /** Identity to use instead of the one stored in `datastore`. */
  privateKey?: PrivateKey
  /** Discovery announcement interval (ms). @default 1000 */
  discoveryIntervalMs?: number
  /** Search fan-out, timeouts and sync pacing. */
  service?: MarketplaceServiceInit
  /** How domain namespaces' publisher lists are read (the runtime config's `nameProofUrl` wins). */
  nameProofs?: NameProofsInit
  /**
   * Where the node's tracer comes from: an OpenTelemetry API provider the caller assembled and
   * owns (the app's `WebTracerProvider`, the relay's, `createTracedMarketplaceNode`'s). The node
   * never starts or shuts one down. @default the global provider (`trace.getTracerProvider()`),
   * a no-op until an SDK is registered
   */
  tracerProvider?: TracerProvider
  /** Ended spans announced here (`SpanEventProcessor` of `src/otel`) become this node's `span` events. */
  spanEvents?: SpanSource
}

/** Something that announces ended spans as `span` events whose detail is the span. */
export type SpanSource = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>
