import { isDirectWebRTC, transportOf } from '../network/connection-info.ts'
import type { PeerChange, PeerSummary } from '../index.ts'
import type { ReputationBook } from './reputation.ts'
import type { DirectDialState } from '../network/direct-connector.ts'
import type { PeerTraffic } from '../content/bitswap-traffic.ts'
import type { IceInfo } from '../network/ice-path.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

export interface PeerSummarySources {
  /** The relays' peer ids. */
  relayIds: ReadonlySet<string>
  /** Why each peer not direct yet is not (the direct connector's dial states). */
  upgrades: ReadonlyMap<string, DirectDialState>
  reputation: Pick<ReputationBook, 'get' | 'score'>
  /** The ICE path of a direct WebRTC connection, once known. */
  iceOf: (conn: Connection) => IceInfo | undefined
  /** Content bytes exchanged with each peer over Bitswap. */
  traffic?: ReadonlyMap<string, Readonly<PeerTraffic>>
}

/**
 * `peers()`: one entry per peer with an open connection, its best connection (a direct one if
 * any), reputation, ICE path, and for a tab not direct yet why not.
 */
export function peerSummaries(connections: Iterable<Connection>, sources: PeerSummarySources): PeerSummary[] {
  const byPeer = new Map<string, Connection[]>()
  for (const conn of connections) {
    if (conn.status !== 'open') continue
    const id = conn.remotePeer.toString()
    byPeer.set(id, [...(byPeer.get(id) ?? []), conn])
  }
  return [...byPeer.entries()].map(([peerId, conns]) => {
    const best = conns.find(c => c.direct) ?? conns[0]
    const stats = sources.reputation.get(peerId)
    const upgrade = best?.direct === true ? undefined : sources.upgrades.get(peerId)
    const ice = conns
      .filter(c => isDirectWebRTC(c))
      .map(c => sources.iceOf(c))
      .find(i => i != null)
    const content = sources.traffic?.get(peerId)
    return {
      peerId,
      direct: best?.direct === true,
      transport: best == null ? 'none' : transportOf(best),
      reputation: sources.reputation.score(peerId),
      ...(stats.avgResponseMs != null ? { avgResponseMs: Math.round(stats.avgResponseMs) } : {}),
      relay: sources.relayIds.has(peerId),
      ...(ice != null ? { path: ice.path, ice } : {}),
      ...(upgrade != null ? { upgrade } : {}),
      ...(content != null ? { content: { ...content } } : {})
    }
  })
}

/**
 * What a connection opening or closing changes for its peer, given the peer's other open
 * connections: `connected` (its first), `upgraded` (a direct WebRTC connection opened),
 * `downgraded` (the last direct one closed, a relayed one remains), `disconnected` (none left);
 * undefined for any other change.
 */
export function peerChangeOf(
  conn: Connection,
  what: 'open' | 'close',
  others: Connection[]
): PeerChange['change'] | undefined {
  // judged on the transport, not the status: a closing connection is no longer 'open'
  const direct = conn.direct && transportOf(conn) === 'webrtc'
  if (what === 'open') return direct ? 'upgraded' : others.length === 0 ? 'connected' : undefined
  if (others.length === 0) return 'disconnected'
  return direct && !others.some(c => isDirectWebRTC(c)) ? 'downgraded' : undefined
}

/**
 * Calls `onChange` with what each connection opening or closing changes for its peer
 * ({@link peerChangeOf}, undefined when nothing it reports), and `onOpen` for each new one.
 */
export function watchPeerChanges(
  libp2p: Pick<Libp2p, 'addEventListener' | 'getConnections'>,
  handlers: {
    onOpen: (conn: Connection) => void
    onChange: (peerId: string, change: PeerChange['change'] | undefined) => void
  }
): void {
  const seen = (conn: Connection, what: 'open' | 'close'): void => {
    if (what === 'open') handlers.onOpen(conn)
    const others = libp2p.getConnections(conn.remotePeer).filter(c => c.status === 'open' && c.id !== conn.id)
    handlers.onChange(conn.remotePeer.toString(), peerChangeOf(conn, what, others))
  }
  libp2p.addEventListener('connection:open', evt => seen(evt.detail, 'open'))
  libp2p.addEventListener('connection:close', evt => seen(evt.detail, 'close'))
}
