import { LitElement, html, nothing, svg } from 'lit'
import { state } from 'lit/decorators.js'
import { NodeController } from '../app/node-controller.ts'
import { RedrawController } from '../app/redraw-controller.ts'
import { ICE_PATH_LABELS } from '../core/network/ice-path.ts'
import { bytesText } from './format.ts'
import { upgradeText } from './mp-peers.ts'
import {
  EDGE_KINDS,
  EDGE_KIND_LABELS,
  REPUTATION_BANDS,
  networkGraphLayout,
  reputationBand
} from './network-graph-layout.ts'
import type { GraphEdge, GraphLayout, GraphNode } from './network-graph-layout.ts'
import { shortPeer } from './provenance.ts'
import { networkGraphStyles } from './network-graph-styles.ts'
import type { PeerSummary } from '../core/index.ts'
import type { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'

/** Radius of a peer's node (a relay's square is as wide), in the layout's units. */
const NODE_R = 9
const SELF_R = 14
/** Half a short peer id's width at the largest font size: a label nearer the edge is moved in. */
const LABEL_HALF = 46

function selfIdOf(node: MarketplaceNode | undefined): string | undefined {
  try {
    return node?.peerId
  } catch {
    return undefined // not started yet: the next status change draws the graph
  }
}

/** "Peer …1a2b3c4d, direct WebRTC, 12 ms, reputation 0.80": what a screen reader says of a node. */
function nodeLabel(n: GraphNode, edge: GraphEdge | undefined): string {
  const latency = edge?.latency != null ? `, ${edge.latency.ms} ms` : ''
  const kind = edge != null ? `, ${EDGE_KIND_LABELS[edge.kind]}` : ''
  return `${n.role === 'relay' ? 'Relay' : 'Peer'} ${shortPeer(n.id)}${kind}${latency}, reputation ${(n.peer?.reputation ?? 0).toFixed(2)}`
}

/** The reputation bands, as the legend and the details panel name them. */
const BAND_TEXT = {
  good: `good (≥ ${REPUTATION_BANDS.good})`,
  fair: `fair (${REPUTATION_BANDS.fair}–${REPUTATION_BANDS.good})`,
  poor: `poor (< ${REPUTATION_BANDS.fair})`
} as const

/**
 * A live picture of this tab's network: this tab in the centre, its relay above, the other tabs
 * around; each edge drawn by how the tab reaches the peer (direct WebRTC, TURN, relay circuit,
 * WebSockets), with its latency; each peer coloured by reputation. A peer's node is a button:
 * click, Enter or Space shows its details below the graph.
 */
export class MpNetworkGraph extends LitElement {
  static override styles = networkGraphStyles

  /** The peer whose details are shown. */
  @state() private selected?: string

  private readonly ctl = new NodeController(this)
  /** Latency and content move without a node event: the graph is redrawn every 2 s while shown. */
  private readonly redraw = new RedrawController(this, 2_000)

  override render(): unknown {
    const node = this.ctl.store.node
    const selfId = selfIdOf(node)
    const peers = selfId != null ? (node?.peers() ?? []) : []
    const layout = selfId != null && peers.length > 0 ? networkGraphLayout(selfId, peers) : undefined
    return html`<section aria-labelledby="graph-title">
      <h2 id="graph-title">Network graph</h2>
      ${
        peers.every(p => p.relay)
          ? html`<div class="empty" data-empty="network-graph">
              <p><strong>No other tabs yet.</strong></p>
              <p>Each tab that opens this page appears here, joined to this one by how it is reached.</p>
            </div>`
          : nothing
      }
      ${layout != null ? [this.graph(layout), legend(), this.details(peers, layout)] : nothing}
    </section>`
  }

  private graph(layout: GraphLayout): unknown {
    const edgeTo = new Map(layout.edges.map(e => [e.to, e]))
    const at = new Map(layout.nodes.map(n => [n.id, n]))
    const [self, ...others] = layout.nodes
    const relays = others.filter(n => n.role === 'relay').length
    const tabs = others.length - relays
    const summary = `This tab, ${relays === 1 ? '1 relay' : `${relays} relays`} and ${tabs === 1 ? '1 peer' : `${tabs} peers`}${layout.hidden > 0 ? ` (${layout.hidden} more not drawn)` : ''}`
    return html`<svg
      class="graph"
      viewBox="0 0 ${layout.width} ${layout.height}"
      role="group"
      aria-label=${summary}
    >
      ${layout.edges.map(
        e => svg`<line class="edge" data-kind=${e.kind} data-to=${e.to} x1=${self?.x ?? 0} y1=${self?.y ?? 0}
          x2=${at.get(e.to)?.x ?? 0} y2=${at.get(e.to)?.y ?? 0} aria-hidden="true"></line>`
      )}
      ${layout.edges.map(e =>
        // a relay's latency always (few relays, short edges); a tab's when there is room for it
        e.latency != null && (layout.labels || at.get(e.to)?.role === 'relay')
          ? svg`<text class="latency" x=${e.labelX} y=${e.labelY + 4} aria-hidden="true">${e.latency.ms} ms</text>`
          : nothing
      )}
      ${
        self != null
          ? svg`<g class="me" data-role="self" data-peer-id=${self.id} transform="translate(${self.x} ${self.y})">
              <circle class="self" r=${SELF_R}></circle>
              <text y=${SELF_R + 13}>this tab</text>
            </g>`
          : nothing
      }
      ${others.map(n => this.peerNode(n, edgeTo.get(n.id), layout.labels, layout.width))}
      ${layout.hidden > 0 ? svg`<text class="more" x="6" y="16" data-testid="graph-hidden">+${layout.hidden} more</text>` : nothing}
    </svg>`
  }

  private peerNode(n: GraphNode, edge: GraphEdge | undefined, labels: boolean, width: number): unknown {
    const pressed = this.selected === n.id
    const shape =
      n.role === 'relay'
        ? svg`<rect class="node" data-band=${n.band ?? ''} x=${-NODE_R} y=${-NODE_R} width=${2 * NODE_R} height=${2 * NODE_R} rx="3"></rect>`
        : svg`<circle class="node" data-band=${n.band ?? ''} r=${NODE_R}></circle>`
    const text =
      n.role === 'relay'
        ? svg`<text y=${-NODE_R - 6}>relay</text>`
        : labels
          ? svg`<text x=${Math.min(Math.max(n.x, LABEL_HALF), width - LABEL_HALF) - n.x} y=${NODE_R + 13}
              >${shortPeer(n.id)}</text
            >`
          : nothing
    return svg`<g
      class="peer"
      data-role=${n.role}
      data-peer-id=${n.id}
      data-kind=${edge?.kind ?? ''}
      transform="translate(${n.x} ${n.y})"
      tabindex="0"
      role="button"
      aria-pressed=${pressed ? 'true' : 'false'}
      aria-label=${nodeLabel(n, edge)}
      @click=${() => this.toggle(n.id)}
      @keydown=${(e: KeyboardEvent) => {
        if (e.key !== 'Enter' && e.key !== ' ') return
        e.preventDefault() // Space would scroll the page
        this.toggle(n.id)
      }}
    ><circle class="ring" r=${NODE_R + 5}></circle>${shape}${text}</g>`
  }

  private toggle(peerId: string): void {
    this.selected = this.selected === peerId ? undefined : peerId
  }

  private details(peers: PeerSummary[], layout: GraphLayout): unknown {
    const id = this.selected
    if (id == null) return nothing
    const peer = peers.find(p => p.peerId === id)
    const edge = layout.edges.find(e => e.to === id)
    if (peer == null || edge == null) {
      return html`<div class="details" role="region" aria-label="Peer details">
        <p>Peer <code>${id}</code> is no longer ${peer == null ? 'connected' : 'drawn'}.</p>
      </div>`
    }
    const ice = peer.ice
    const path = !peer.direct
      ? 'through the relay'
      : ice != null
        ? `${ICE_PATH_LABELS[ice.path] ?? ice.path} (ICE candidates: ${ice.local} here ↔ ${ice.remote} at the peer${ice.protocol != null ? ` over ${ice.protocol}` : ''})`
        : 'direct'
    const latency =
      edge.latency == null
        ? '–'
        : `${edge.latency.ms} ms (${edge.latency.source === 'ice-rtt' ? 'ICE round trip' : 'average response'})`
    const content = peer.content
    const upgrade = peer.relay
      ? nothing
      : html`<dt>Upgrade</dt>
          <dd>
            ${
              peer.direct
                ? 'direct: nothing to upgrade'
                : peer.upgrade != null
                  ? upgradeText(peer.upgrade)
                  : 'no direct dial yet'
            }
          </dd>`
    return html`<div class="details" role="region" aria-label="Peer details" data-peer-id=${id}>
      <h3>${peer.relay ? 'Relay' : 'Peer'} ${shortPeer(id)}</h3>
      <dl>
        <dt>Peer id</dt>
        <dd><code data-testid="graph-peer-id">${id}</code></dd>
        <dt>Transport</dt>
        <dd>
          ${EDGE_KIND_LABELS[edge.kind]}
          (<code>${peer.transport}</code>)${edge.via != null ? html`, via relay ${shortPeer(edge.via)}` : nothing}
        </dd>
        <dt>Path</dt>
        <dd>${path}</dd>
        <dt>Latency</dt>
        <dd>${latency}</dd>
        <dt>Reputation</dt>
        <dd>${peer.reputation.toFixed(2)}, ${BAND_TEXT[reputationBand(peer.reputation)]}</dd>
        <dt>Content</dt>
        <dd>
          ${
            content == null
              ? '–'
              : `${bytesText(content.sent)} served to it, ${bytesText(content.received)} received from it${content.unwanted > 0 ? `, ${content.unwanted} block(s) never asked for` : ''}`
          }
        </dd>
        ${upgrade}
      </dl>
    </div>`
  }
}

/** Line style and colour of each edge kind, the shape of a relay, and the reputation colours. */
function legend(): unknown {
  return html`<ul class="legend" aria-label="Legend">
    ${EDGE_KINDS.map(
      kind =>
        html`<li>
          <svg width="28" height="10" viewBox="0 0 28 10" aria-hidden="true">
            <line class="edge" data-kind=${kind} x1="1" y1="5" x2="27" y2="5"></line></svg
          >${EDGE_KIND_LABELS[kind]}
        </li>`
    )}
    <li>
      <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
        <rect class="node shape" x="1" y="1" width="12" height="12" rx="2"></rect></svg
      >relay
    </li>
    <li>
      <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
        <circle class="node shape" cx="7" cy="7" r="6"></circle></svg
      >tab
    </li>
    ${(['good', 'fair', 'poor'] as const).map(
      band =>
        html`<li>
          <svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
            <circle class="node" data-band=${band} cx="7" cy="7" r="6"></circle></svg
          >reputation ${BAND_TEXT[band]}
        </li>`
    )}
  </ul>`
}

if (customElements.get('mp-network-graph') == null) customElements.define('mp-network-graph', MpNetworkGraph)
