import { describe, expect, test } from 'vitest'
import {
  GRAPH_MAX_HEIGHT,
  GRAPH_WIDTH,
  REPUTATION_BANDS,
  edgeKind,
  networkGraphLayout,
  reputationBand
} from '../../src/components/network-graph-layout.ts'
import type { GraphLayout } from '../../src/components/network-graph-layout.ts'
import type { PeerSummary } from '../../src/core/index.ts'

const SELF = '12D3KooWSelf'

/** A connected tab, relayed unless told otherwise. */
function peer(peerId: string, extra: Partial<PeerSummary> = {}): PeerSummary {
  return { peerId, direct: false, transport: 'circuit-relay', reputation: 0.6, relay: false, ...extra }
}

const relay = (peerId: string): PeerSummary =>
  peer(peerId, { direct: true, transport: 'websockets', relay: true, avgResponseMs: 4 })
const direct = (peerId: string, extra: Partial<PeerSummary> = {}): PeerSummary =>
  peer(peerId, { direct: true, transport: 'webrtc', ...extra })

/** `n` tabs with ids that sort in creation order. */
const tabs = (n: number, make = peer): PeerSummary[] =>
  Array.from({ length: n }, (_, i) => make(`12D3KooWTab${String(i).padStart(4, '0')}`))

const kindOf = (layout: GraphLayout, id: string): string | undefined =>
  layout.edges.find(e => e.to === id)?.kind

/** The smallest distance between two nodes' centres. */
function closest(layout: GraphLayout): number {
  let min = Infinity
  for (const [i, a] of layout.nodes.entries()) {
    for (const b of layout.nodes.slice(i + 1)) min = Math.min(min, Math.hypot(a.x - b.x, a.y - b.y))
  }
  return min
}

describe('network graph layout', () => {
  test('this tab in the centre, the relay above it, tabs on a ring around both', () => {
    const layout = networkGraphLayout(SELF, [...tabs(3), relay('12D3KooWRelay')])
    const [self, ...others] = layout.nodes
    expect(self).toMatchObject({ id: SELF, role: 'self', x: GRAPH_WIDTH / 2 })
    expect(others.map(n => n.role)).toEqual(['relay', 'tab', 'tab', 'tab'])
    const [relayNode, ...tabNodes] = others
    const distance = (n: { x: number; y: number }): number => Math.hypot(n.x - self!.x, n.y - self!.y)
    expect(relayNode!.y).toBeLessThan(self!.y)
    for (const t of tabNodes) expect(distance(t)).toBeGreaterThan(distance(relayNode!))
  })

  test('edge kinds from the summaries: direct WebRTC, TURN, relay circuit, WebSockets, other', () => {
    const layout = networkGraphLayout(SELF, [
      relay('R'),
      direct('A', { path: 'host', ice: { path: 'host', local: 'host', remote: 'host', rttMs: 3 } }),
      direct('B', { path: 'relay', ice: { path: 'relay', local: 'relay', remote: 'srflx', rttMs: 40 } }),
      peer('C'),
      peer('D', { direct: true, transport: 'memory' })
    ])
    expect(['R', 'A', 'B', 'C', 'D'].map(id => kindOf(layout, id))).toEqual([
      'websockets',
      'webrtc',
      'turn',
      'circuit',
      'other'
    ])
    expect(layout.edges.every(e => e.from === SELF)).toBe(true)
    // a circuit goes through the one relay there is
    expect(layout.edges.find(e => e.to === 'C')?.via).toBe('R')
    expect(layout.edges.find(e => e.to === 'A')?.via).toBeUndefined()
    // a TURN path known only from `path` (no round trip measured yet) is still TURN
    expect(edgeKind({ direct: true, transport: 'webrtc', path: 'relay' })).toBe('turn')
  })

  test("latency: the ICE pair's round trip, else the average response time, else none", () => {
    const layout = networkGraphLayout(SELF, [
      direct('A', { avgResponseMs: 90, ice: { path: 'srflx', local: 'srflx', remote: 'srflx', rttMs: 12 } }),
      direct('B', { avgResponseMs: 90 }),
      direct('C')
    ])
    expect(layout.edges.map(e => e.latency)).toEqual([
      { ms: 12, source: 'ice-rtt' },
      { ms: 90, source: 'response' },
      undefined
    ])
  })

  test('reputation bands at the documented thresholds', () => {
    expect(reputationBand(1)).toBe('good')
    expect(reputationBand(REPUTATION_BANDS.good)).toBe('good')
    expect(reputationBand(REPUTATION_BANDS.good - 0.01)).toBe('fair')
    expect(reputationBand(REPUTATION_BANDS.fair)).toBe('fair')
    expect(reputationBand(REPUTATION_BANDS.fair - 0.01)).toBe('poor')
    const layout = networkGraphLayout(SELF, [peer('A', { reputation: 0.9 }), peer('B', { reputation: 0.2 })])
    expect(layout.nodes.map(n => n.band)).toEqual([undefined, 'good', 'poor'])
  })

  test('no two nodes share a place, and every node is inside the picture, up to the 48 peers drawn', () => {
    const cases = [1, 2, 5, 12, 13, 16, 17, 30, 46].map(n => [relay('R1'), relay('R2'), ...tabs(n)])
    cases.push(tabs(48), [relay('R1'), ...tabs(1)])
    for (const peers of cases) {
      const layout = networkGraphLayout(SELF, peers)
      expect(layout.nodes).toHaveLength(peers.length + 1)
      // nodes are drawn with a radius of up to 14 (this tab) and 9 (the others)
      expect(closest(layout), `${peers.length} peers`).toBeGreaterThanOrEqual(20)
      for (const node of layout.nodes) {
        expect(node.x).toBeGreaterThanOrEqual(10)
        expect(node.x).toBeLessThanOrEqual(layout.width - 10)
        expect(node.y).toBeGreaterThanOrEqual(10)
        expect(node.y).toBeLessThanOrEqual(layout.height - 10)
      }
    }
  })

  test('as tall as the nodes need, never taller than a full ring, always as wide', () => {
    const short = networkGraphLayout(SELF, [relay('R'), ...tabs(2)])
    const full = networkGraphLayout(SELF, [relay('R'), ...tabs(47)])
    expect(short.height).toBeLessThan(full.height)
    expect(full.height).toBeLessThanOrEqual(GRAPH_MAX_HEIGHT)
    expect([short.width, full.width]).toEqual([GRAPH_WIDTH, GRAPH_WIDTH])
    // a node keeps its place as the picture grows (the SVG scales by its width only)
    const before = short.nodes.find(n => n.role === 'relay')
    expect(full.nodes.find(n => n.role === 'relay')).toMatchObject({ x: before?.x, y: before?.y })
  })

  test('a flood of peers is capped: relays and direct tabs are kept, the rest counted as hidden', () => {
    const flood = tabs(500)
    const kept = direct('12D3KooWzzzDirect')
    const layout = networkGraphLayout(SELF, [...flood, kept, relay('12D3KooWzzzRelay')])
    expect(layout.nodes).toHaveLength(1 + 48)
    expect(layout.hidden).toBe(502 - 48)
    const ids = layout.nodes.map(n => n.id)
    expect(ids).toContain('12D3KooWzzzRelay')
    expect(ids).toContain(kept.peerId)
    expect(layout.labels).toBe(false)
    expect(networkGraphLayout(SELF, tabs(10), { maxPeers: 4 })).toMatchObject({ hidden: 6 })
    expect(networkGraphLayout(SELF, tabs(10)).labels).toBe(true)
    expect(networkGraphLayout(SELF, tabs(11)).labels).toBe(false)
  })

  test('deterministic: the same peers in any order give the same picture, ordered by peer id', () => {
    const peers = [relay('R'), ...tabs(9, id => direct(id))]
    const reversed = [...peers].reverse()
    const layout = networkGraphLayout(SELF, peers)
    expect(networkGraphLayout(SELF, reversed)).toEqual(layout)
    const tabIds = layout.nodes.filter(n => n.role === 'tab').map(n => n.id)
    expect(tabIds).toEqual([...tabIds].sort())
  })

  test('this tab and duplicate entries are drawn once', () => {
    const layout = networkGraphLayout(SELF, [peer('A'), peer('A'), peer(SELF)])
    expect(layout.nodes.map(n => n.id)).toEqual([SELF, 'A'])
    expect(layout.edges).toHaveLength(1)
    expect(layout.hidden).toBe(0)
  })
})
