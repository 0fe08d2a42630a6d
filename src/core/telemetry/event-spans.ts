import { isDirectWebRTC, transportOf } from '../network/connection-info.ts'
import type { IceInfo, IcePaths } from '../network/ice-path.ts'
import { ATTR, OPERATION, SPAN } from './schema.ts'
import { failSpan } from './tracing.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { context, trace } from '@opentelemetry/api'
import type { Attributes, Tracer } from '@opentelemetry/api'

/**
 * The spec's `process_events` spans: one per network event this node
 * processes, each with the child span of its kind (`connection_established`,
 * `connection_closed`, `incoming_connection_error`, `behaviour_event`).
 */
export class EventSpans {
  private readonly libp2p: Pick<
    Libp2p,
    'peerId' | 'getConnections' | 'addEventListener' | 'removeEventListener'
  >
  private readonly tracer: Tracer
  private readonly icePaths?: Pick<IcePaths, 'read'>

  /** With `icePaths`, a direct WebRTC connection's span waits for its ICE path and carries it. */
  constructor(libp2p: EventSpans['libp2p'], tracer: Tracer, icePaths?: Pick<IcePaths, 'read'>) {
    this.libp2p = libp2p
    this.tracer = tracer
    this.icePaths = icePaths
  }

  start(): void {
    this.libp2p.addEventListener('connection:open', this.onOpen)
    this.libp2p.addEventListener('connection:close', this.onClose)
    this.libp2p.addEventListener('peer:discovery', this.onDiscovery)
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
  }

  stop(): void {
    this.libp2p.removeEventListener('connection:open', this.onOpen)
    this.libp2p.removeEventListener('connection:close', this.onClose)
    this.libp2p.removeEventListener('peer:discovery', this.onDiscovery)
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
  }

  /** A `behaviour_event` for something a libp2p service did (discovery, identify, gossip…). */
  behaviour(behaviour: string, peerId: string | undefined, attributes: Attributes = {}): void {
    this.record(SPAN.behaviourEvent, peerId, { [ATTR.eventCategory]: 'behaviour', behaviour, ...attributes })
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const peerId = conn.remotePeer.toString()
    const attributes: Attributes = {
      [ATTR.numEstablished]: this.established(conn.remotePeer),
      [ATTR.isDialer]: conn.direction === 'outbound',
      transport: transportOf(conn),
      direct: conn.direct
    }
    if (this.icePaths == null || !isDirectWebRTC(conn)) {
      this.record(SPAN.connectionEstablished, peerId, attributes)
      return
    }
    void this.icePaths.read(conn).then(ice => {
      this.record(SPAN.connectionEstablished, peerId, {
        ...attributes,
        ...(ice != null ? iceAttributes(ice) : {})
      })
    })
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const peerId = conn.remotePeer.toString()
    const cause = `${conn.direction} ${transportOf(conn)} connection ${conn.status === 'aborted' ? 'aborted' : 'closed'}`
    this.record(SPAN.connectionClosed, peerId, {
      [ATTR.numEstablished]: this.established(conn.remotePeer),
      [ATTR.cause]: cause
    })
    if (conn.direction === 'inbound' && conn.status === 'aborted') {
      this.record(
        SPAN.incomingConnectionError,
        peerId,
        {},
        `inbound ${transportOf(conn)} connection from ${peerId} aborted`
      )
    }
  }

  private readonly onDiscovery = (evt: CustomEvent<{ id: PeerId }>): void => {
    this.behaviour('peer:discovery', evt.detail.id.toString())
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
    this.behaviour('peer:identify', evt.detail.peerId.toString(), { protocols: evt.detail.protocols.length })
  }

  private established(peer: PeerId): number {
    return this.libp2p.getConnections(peer).filter(c => c.status === 'open').length
  }

  /** One `process_events` span with one child of kind `name`. Telemetry never throws into the node. */
  private record(name: string, peerId: string | undefined, attributes: Attributes, error?: string): void {
    try {
      const peer = peerId != null ? { [ATTR.peerId]: peerId } : {}
      const parent = this.tracer.startSpan(SPAN.processEvents, {
        attributes: { [ATTR.operation]: OPERATION.processEvents, [ATTR.eventType]: name, ...peer }
      })
      const ctx = trace.setSpan(context.active(), parent)
      const child = this.tracer.startSpan(name, { attributes: { ...peer, ...attributes } }, ctx)
      if (error != null) failSpan(child, error)
      child.end()
      parent.end()
    } catch {
      // tracing is best effort
    }
  }
}

/** A direct WebRTC connection's ICE path as span attributes (beyond the spec's, like `transport`). */
function iceAttributes(ice: IceInfo): Attributes {
  return {
    ice_path: ice.path,
    ice_local_candidate_type: ice.local,
    ice_remote_candidate_type: ice.remote,
    ...(ice.protocol != null ? { ice_protocol: ice.protocol } : {}),
    ...(ice.rttMs != null ? { ice_rtt_ms: ice.rttMs } : {})
  }
}
