import type { PeerSummary } from '../core/index.ts'

/**
 * How this tab reaches a peer, as the network graph draws it: `webrtc` a direct WebRTC
 * connection, `turn` one whose ICE path goes through a TURN server, `circuit` a circuit through
 * the relay (no direct connection yet), `websockets` a WebSocket connection (to the relay), and
 * `other` any other transport (`memory`, `tcp`, …).
 */
export type EdgeKind = 'webrtc' | 'turn' | 'circuit' | 'websockets' | 'other'

/** How people read an edge kind (the legend, node labels and the details panel). */
export const EDGE_KIND_LABELS: Readonly<Record<EdgeKind, string>> = {
  webrtc: 'direct WebRTC',
  turn: 'WebRTC via TURN relay',
  circuit: 'relay circuit',
  websockets: 'WebSockets',
  other: 'other transport'
}

/** The legend's order: the kinds a tab mostly sees first. */
export const EDGE_KINDS: readonly EdgeKind[] = ['webrtc', 'turn', 'circuit', 'websockets', 'other']

/** A peer's reputation (0..1), in three bands: {@link REPUTATION_BANDS}. */
export type ReputationBand = 'good' | 'fair' | 'poor'

/**
 * The lower bound of each band: `good` from 0.75, `fair` from 0.5, `poor` below. A peer we have
 * not asked anything yet scores 0.5-0.6 (a perfect success rate is half the score; speed and
 * packages provided are unknown), so it starts `fair`; it becomes `good` by answering quickly and
 * providing packages, and drops to `poor` once a good share of its answers fail.
 */
export const REPUTATION_BANDS = { good: 0.75, fair: 0.5 } as const

/** The band of a reputation score. */
export function reputationBand(score: number): ReputationBand {
  if (score >= REPUTATION_BANDS.good) return 'good'
  if (score >= REPUTATION_BANDS.fair) return 'fair'
  return 'poor'
}

/** The kind of the edge to a peer, from the best connection `peers()` reports for it. */
export function edgeKind(peer: Pick<PeerSummary, 'direct' | 'transport' | 'path' | 'ice'>): EdgeKind {
  if (peer.transport === 'circuit-relay') return 'circuit'
  if (peer.transport === 'webrtc' && peer.direct) {
    return peer.ice?.path === 'relay' || peer.path === 'relay' ? 'turn' : 'webrtc'
  }
  if (peer.transport === 'websockets') return 'websockets'
  return 'other'
}

/** The latency the graph shows for a peer: the ICE pair's round trip, else the average response. */
export function latencyOf(
  peer: Pick<PeerSummary, 'ice' | 'avgResponseMs'>
): { ms: number; source: 'ice-rtt' | 'response' } | undefined {
  if (peer.ice?.rttMs != null) return { ms: peer.ice.rttMs, source: 'ice-rtt' }
  if (peer.avgResponseMs != null) return { ms: peer.avgResponseMs, source: 'response' }
  return undefined
}

export interface GraphNode {
  /** The peer id (this node's own for `self`). */
  id: string
  role: 'self' | 'relay' | 'tab'
  /** Centre, in the layout's coordinates (0..width, 0..height). */
  x: number
  y: number
  /** Absent for `self`. */
  peer?: PeerSummary
  band?: ReputationBand
}

export interface GraphEdge {
  /** Always this node's own peer id: every edge is one of this tab's connections. */
  from: string
  to: string
  kind: EdgeKind
  latency?: { ms: number; source: 'ice-rtt' | 'response' }
  /** Where the latency label goes (near the peer's end, so labels of many edges do not meet). */
  labelX: number
  labelY: number
  /** For a `circuit` edge, the relay it goes through, when there is exactly one to go through. */
  via?: string
}

export interface GraphLayout {
  /** Always {@link GRAPH_WIDTH}: scaled to the width the SVG is given, a node stays where it was. */
  width: number
  /** As tall as the nodes drawn need (at most {@link GRAPH_MAX_HEIGHT}): few peers, a short picture. */
  height: number
  /** `self` first, then relays, then tabs, each sorted by peer id. */
  nodes: GraphNode[]
  edges: GraphEdge[]
  /** Peers not drawn because of {@link NetworkGraphLayoutInit.maxPeers}. */
  hidden: number
  /** Few enough tabs that short ids and latencies fit beside them. */
  labels: boolean
}

export interface NetworkGraphLayoutInit {
  /**
   * Peers drawn at most (relays included); the rest are counted in `hidden`. Relays are kept
   * first, then directly connected tabs, so a flood of relayed peers with fresh keys cannot push
   * the tabs this one works with off the picture.
   * @default 48
   */
  maxPeers?: number
}

/** The width of the layout's coordinates (the SVG's `viewBox`), whatever the peers. */
export const GRAPH_WIDTH = 400
/** The height of the layout's coordinates when the ring of tabs is full. */
export const GRAPH_MAX_HEIGHT = 320
const CENTRE = { x: 200, y: 120 } as const
const RELAY_RADIUS = 75
/** Tabs on one ring up to this many; beyond it, alternately on an inner and an outer ring. */
const ONE_RING_MAX = 16
const TAB_RADII = { one: 165, inner: 145, outer: 178 } as const
/** Labels beside the nodes up to this many tabs (ten fit side by side at a phone's font size). */
const LABELS_MAX = 10
const DEG = Math.PI / 180
/** Relays sit above this tab, within ±50° of straight up; tabs fill the 240° below and beside. */
const RELAY_SPREAD = 100 * DEG
const TAB_ARC = { from: -30 * DEG, span: 240 * DEG } as const

const round = (n: number): number => Math.round(n * 10) / 10
const byId = (a: PeerSummary, b: PeerSummary): number =>
  a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0

function at(radius: number, angle: number): { x: number; y: number } {
  return { x: round(CENTRE.x + radius * Math.cos(angle)), y: round(CENTRE.y + radius * Math.sin(angle)) }
}

/** Which peers are drawn: relays, then direct tabs, then the rest; by peer id within each. */
function choose(peers: PeerSummary[], max: number): PeerSummary[] {
  const rank = (p: PeerSummary): number => (p.relay ? 0 : p.direct ? 1 : 2)
  return [...peers].sort((a, b) => rank(a) - rank(b) || byId(a, b)).slice(0, Math.max(0, max))
}

/**
 * Lays out the graph of this tab's connections: this tab in the centre, its relays on an inner
 * arc above it, the other tabs on a ring around both; an edge from this tab to each peer. Pure and
 * deterministic: the same peers (in any order) give the same picture, and nodes keep their order
 * by peer id as peers come and go.
 */
export function networkGraphLayout(
  selfId: string,
  peers: PeerSummary[],
  init: NetworkGraphLayoutInit = {}
): GraphLayout {
  const maxPeers = init.maxPeers ?? 48
  // one entry per peer, never this tab itself
  const unique = new Map<string, PeerSummary>()
  for (const p of peers) if (p.peerId !== selfId && !unique.has(p.peerId)) unique.set(p.peerId, p)
  const drawn = choose([...unique.values()], maxPeers)
  const relays = drawn.filter(p => p.relay).sort(byId)
  const tabs = drawn.filter(p => !p.relay).sort(byId)

  const nodes: GraphNode[] = [{ id: selfId, role: 'self', ...CENTRE }]
  const relayStep = relays.length > 1 ? RELAY_SPREAD / (relays.length - 1) : 0
  relays.forEach((p, i) => {
    const angle = -90 * DEG + (relays.length > 1 ? -RELAY_SPREAD / 2 + i * relayStep : 0)
    nodes.push({ id: p.peerId, role: 'relay', ...at(RELAY_RADIUS, angle), peer: p })
  })
  tabs.forEach((p, i) => {
    const angle = TAB_ARC.from + ((i + 0.5) * TAB_ARC.span) / tabs.length
    const radius =
      tabs.length <= ONE_RING_MAX ? TAB_RADII.one : i % 2 === 0 ? TAB_RADII.inner : TAB_RADII.outer
    nodes.push({ id: p.peerId, role: 'tab', ...at(radius, angle), peer: p })
  })
  for (const n of nodes) if (n.peer != null) n.band = reputationBand(n.peer.reputation)

  const onlyRelay = relays.length === 1 ? relays[0]?.peerId : undefined
  const edges: GraphEdge[] = nodes.flatMap(n => {
    if (n.peer == null) return []
    const kind = edgeKind(n.peer)
    const latency = latencyOf(n.peer)
    // a relay's edge is short: its label goes halfway; a tab's at two thirds, towards the tab
    const share = n.role === 'relay' ? 0.5 : 0.68
    const edge: GraphEdge = {
      from: selfId,
      to: n.id,
      kind,
      labelX: round(CENTRE.x + (n.x - CENTRE.x) * share),
      labelY: round(CENTRE.y + (n.y - CENTRE.y) * share),
      ...(latency != null ? { latency } : {}),
      ...(kind === 'circuit' && onlyRelay != null ? { via: onlyRelay } : {})
    }
    return [edge]
  })

  const labels = tabs.length <= LABELS_MAX
  // room under the lowest node for its label; under this tab's node for "this tab"
  const lowest = Math.max(...nodes.map(n => n.y + (n.role === 'self' ? 40 : labels ? 32 : 18)))
  return {
    width: GRAPH_WIDTH,
    height: Math.min(GRAPH_MAX_HEIGHT, Math.ceil(lowest)),
    nodes,
    edges,
    hidden: unique.size - drawn.length,
    labels
  }
}
