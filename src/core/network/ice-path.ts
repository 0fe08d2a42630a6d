import { isDirectWebRTC } from './connection-info.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

/** The type of an ICE candidate (RFC 8445 §5.1.1.1, as in `RTCIceCandidateStats.candidateType`). */
export type IceCandidateType = 'host' | 'srflx' | 'prflx' | 'relay'

/**
 * Which way a direct WebRTC connection's packets go, from its selected candidate pair:
 * `relay` when either side's candidate is a TURN relay candidate; else `srflx` or `prflx`
 * when either is reflexive (through a NAT's mapping); else `host` (same network).
 */
export type IcePath = IceCandidateType

/** How a person reads an ICE path. */
export const ICE_PATH_LABELS: Readonly<Record<string, string>> = {
  host: 'same network',
  srflx: 'NAT (STUN)',
  prflx: 'NAT (peer-reflexive)',
  relay: 'TURN relay'
}

/** What the ICE agent selected for a direct WebRTC connection. */
export interface IceInfo {
  path: IcePath
  local: IceCandidateType
  remote: IceCandidateType
  /** `udp` or `tcp`, of the local candidate. */
  protocol?: string
  /** The pair's current round-trip time (STUN consent checks), in ms. */
  rttMs?: number
}

const TYPES: readonly string[] = ['host', 'srflx', 'prflx', 'relay']

function candidateType(value: unknown): IceCandidateType | undefined {
  return typeof value === 'string' && TYPES.includes(value) ? (value as IceCandidateType) : undefined
}

/** The path of a pair of candidates (see {@link IcePath}). */
export function pathOf(local: IceCandidateType, remote: IceCandidateType): IcePath {
  if (local === 'relay' || remote === 'relay') return 'relay'
  if (local === 'srflx' || remote === 'srflx') return 'srflx'
  if (local === 'prflx' || remote === 'prflx') return 'prflx'
  return 'host'
}

/** One entry of an `RTCStatsReport`. */
export type StatsEntry = Record<string, unknown> & { id: string; type: string }

/**
 * Reads the selected candidate pair from a peer connection's statistics: the `transport`
 * entry's `selectedCandidatePairId` (Chromium, Safari), or else the nominated, succeeded pair
 * (Firefox). `undefined` while no pair is selected, or when the stats say too little.
 */
export function iceInfoFromStats(report: Iterable<StatsEntry>): IceInfo | undefined {
  const byId = new Map<string, StatsEntry>()
  for (const entry of report) byId.set(entry.id, entry)
  let pair: StatsEntry | undefined
  for (const entry of byId.values()) {
    if (entry.type === 'transport' && typeof entry.selectedCandidatePairId === 'string') {
      pair = byId.get(entry.selectedCandidatePairId)
      if (pair != null) break
    }
  }
  pair ??= [...byId.values()].find(
    e =>
      e.type === 'candidate-pair' && e.state === 'succeeded' && (e.selected === true || e.nominated === true)
  )
  if (pair == null) return undefined
  const localCandidate = byId.get(String(pair.localCandidateId))
  const local = candidateType(localCandidate?.candidateType)
  const remote = candidateType(byId.get(String(pair.remoteCandidateId))?.candidateType)
  if (local == null || remote == null) return undefined
  const rtt = pair.currentRoundTripTime
  return {
    path: pathOf(local, remote),
    local,
    remote,
    ...(typeof localCandidate?.protocol === 'string' ? { protocol: localCandidate.protocol } : {}),
    ...(typeof rtt === 'number' && Number.isFinite(rtt) ? { rttMs: Math.round(rtt * 1000) } : {})
  }
}

/**
 * The `RTCPeerConnection` under a WebRTC connection. `@libp2p/webrtc` keeps it as the
 * `peerConnection` of the connection's multiaddr connection, which libp2p's `Connection` holds
 * as `maConn`; neither is part of the published interface, so this looks for both and returns
 * `undefined` when a version of either keeps them elsewhere.
 */
export function peerConnectionOf(conn: Connection): PeerConnectionView | undefined {
  const maConn = (conn as unknown as { maConn?: { peerConnection?: unknown } }).maConn
  const pc = maConn?.peerConnection as { getStats?: unknown } | undefined
  return typeof pc?.getStats === 'function' ? (pc as PeerConnectionView) : undefined
}

/** The parts of a connection's `RTCPeerConnection` the marketplace reads. */
export type PeerConnectionView = Pick<
  RTCPeerConnection,
  'getStats' | 'sctp' | 'connectionState' | 'addEventListener' | 'removeEventListener'
>

/**
 * Calls `onChange` whenever the ICE agent of `conn` selects another candidate pair (it may start
 * on a TURN pair whose checks succeeded first and move to a reflexive one once hole punching
 * works). Returns a function that stops listening; a no-op where the event is not available.
 */
function onPairChange(conn: Connection, onChange: () => void): () => void {
  const ice = peerConnectionOf(conn)?.sctp?.transport?.iceTransport
  if (ice == null || typeof ice.addEventListener !== 'function') return () => {}
  ice.addEventListener('selectedcandidatepairchange', onChange)
  return () => ice.removeEventListener('selectedcandidatepairchange', onChange)
}

/** The selected ICE path of a direct WebRTC connection, or `undefined` when it cannot be read. */
export async function iceInfoOf(conn: Connection): Promise<IceInfo | undefined> {
  const pc = peerConnectionOf(conn)
  if (pc == null) return undefined
  try {
    const report = await pc.getStats()
    return iceInfoFromStats(report.values() as Iterable<StatsEntry>)
  } catch {
    return undefined // closed meanwhile
  }
}

type IcePathsLibp2p = Pick<Libp2p, 'addEventListener' | 'removeEventListener'>

/**
 * The ICE path of every open direct WebRTC connection of a node, read from the peer
 * connection's statistics when the connection opens (again after 500 ms if no pair was selected
 * yet) and again whenever the ICE agent selects another pair, and forgotten when it closes.
 */
export class IcePaths {
  private readonly libp2p: IcePathsLibp2p
  private readonly onPath: (conn: Connection, info: IceInfo) => void
  private readonly reads = new Map<string, Promise<IceInfo | undefined>>()
  private readonly known = new Map<string, IceInfo>()
  private readonly unsubscribe = new Map<string, () => void>()

  constructor(libp2p: IcePathsLibp2p, onPath: (conn: Connection, info: IceInfo) => void = () => {}) {
    this.libp2p = libp2p
    this.onPath = onPath
  }

  start(): void {
    this.libp2p.addEventListener('connection:open', this.onOpen)
    this.libp2p.addEventListener('connection:close', this.onClose)
  }

  stop(): void {
    this.libp2p.removeEventListener('connection:open', this.onOpen)
    this.libp2p.removeEventListener('connection:close', this.onClose)
    for (const stop of this.unsubscribe.values()) stop()
    this.unsubscribe.clear()
    this.reads.clear()
    this.known.clear()
  }

  /** The path of `conn`, once read. */
  of(conn: Connection): IceInfo | undefined {
    return this.known.get(conn.id)
  }

  /** The path of `conn` (a direct WebRTC connection), read once; `undefined` for any other. */
  async read(conn: Connection): Promise<IceInfo | undefined> {
    if (!isDirectWebRTC(conn)) return undefined
    let read = this.reads.get(conn.id)
    if (read == null) {
      read = (async () => {
        const info = (await iceInfoOf(conn)) ?? (await delay(500).then(async () => await iceInfoOf(conn)))
        if (info != null) this.update(conn, info)
        return info
      })()
      this.reads.set(conn.id, read)
      // the agent may switch pairs later: follow it
      this.unsubscribe.set(
        conn.id,
        onPairChange(conn, () => {
          void iceInfoOf(conn).then(info => {
            if (info != null) this.update(conn, info)
          })
        })
      )
    }
    return await read
  }

  /** Records a path read for a connection still open, telling the listener when it changed. */
  private update(conn: Connection, info: IceInfo): void {
    if (!this.reads.has(conn.id)) return // closed meanwhile
    const before = this.known.get(conn.id)
    this.known.set(conn.id, info)
    if (before?.path !== info.path || before.local !== info.local || before.remote !== info.remote) {
      this.onPath(conn, info)
    }
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    void this.read(evt.detail)
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    this.unsubscribe.get(evt.detail.id)?.()
    this.unsubscribe.delete(evt.detail.id)
    this.reads.delete(evt.detail.id)
    this.known.delete(evt.detail.id)
  }
}

async function delay(ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
