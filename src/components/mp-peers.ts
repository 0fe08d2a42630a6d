import { LitElement, css, html, nothing } from 'lit'
import { NodeController } from '../app/node-controller.ts'
import { RedrawController } from '../app/redraw-controller.ts'
import { peerCounts, peersSentence } from './provenance.ts'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'
import { ICE_PATH_LABELS } from '../core/network/ice-path.ts'
import { bytesText } from './format.ts'
import type { PeerTraffic } from '../core/index.ts'
import type { DirectDialState } from '../core/network/direct-connector.ts'
import type { IceInfo } from '../core/network/ice-path.ts'

/**
 * Why a relayed tab is not direct yet, in a few words, e.g. "retry at 17:44:02 after 3 dials:
 * <error>" or "upgrading to direct (dial 4); the last failed: <error>".
 */
export function upgradeText(upgrade: DirectDialState): string {
  const dials = upgrade.attempts === 1 ? '1 dial' : `${upgrade.attempts} dials`
  let text: string
  if (upgrade.dialing) {
    text = `upgrading to direct (dial ${upgrade.attempts})`
    // the dial under way may fail as the last one did: say how
    if (upgrade.lastError != null) text += `; the last failed: ${upgrade.lastError}`
  } else if (upgrade.queued === true) {
    text = "direct dial queued behind this tab's other upgrades"
    if (upgrade.lastError != null) text += ` (${dials} so far; the last failed: ${upgrade.lastError})`
  } else if (upgrade.lastError == null)
    text = upgrade.dialer === 'peer' ? 'waiting for the peer to dial us directly' : 'direct dial due now'
  else {
    const at = upgrade.nextAttemptAt != null ? new Date(upgrade.nextAttemptAt).toLocaleTimeString() : 'soon'
    text = `retry at ${at} after ${dials}: ${upgrade.lastError}`
  }
  return text
}

/** {@link upgradeText} under a relayed tab's path. */
function upgradeNote(upgrade: DirectDialState | undefined): unknown {
  if (upgrade == null) return ''
  return html`<br /><small class="muted upgrade" data-error-class=${upgrade.lastErrorClass ?? ''}
      >${upgradeText(upgrade)}</small
    >`
}

/** Which way a direct connection goes, e.g. "via TURN relay, 12 ms". */
function pathNote(ice: IceInfo | undefined): unknown {
  if (ice == null) return ''
  const rtt = ice.rttMs != null ? `, ${ice.rttMs} ms` : ''
  return html`<br /><small
      class="muted ice-path"
      data-path=${ice.path}
      title=${`ICE candidates: ${ice.local} (here) ↔ ${ice.remote} (peer)${ice.protocol != null ? ` over ${ice.protocol}` : ''}`}
      >via ${ICE_PATH_LABELS[ice.path] ?? ice.path}${rtt}</small
    >`
}

/**
 * Package content exchanged with a peer: "↑ 5.0 MiB ↓ 1.2 MiB" (served to it, received from it),
 * and the blocks it sent that were never asked for.
 */
function contentNote(content: PeerTraffic | undefined): unknown {
  if (content == null) return '–'
  return html`<span title="served to this peer">↑ ${bytesText(content.sent)}</span>
    <span title="received from this peer">↓ ${bytesText(content.received)}</span>${
      content.unwanted > 0
        ? html`<br /><small class="bad">${content.unwanted} block(s) never asked for</small>`
        : ''
    }`
}

/** Connected peers: transport, direct or relayed, reputation, average response time, content served; live. */
export class MpPeers extends LitElement {
  static override styles = [
    cardStyles,
    css`
      table {
        width: 100%;
        border-collapse: collapse;
      }
      th,
      td {
        text-align: left;
        padding: 0.3rem 0.5rem;
        border-bottom: 1px solid ${v('border')};
      }
      meter {
        width: 5rem;
      }
      td.content {
        white-space: nowrap;
      }
      .bad {
        color: ${v('error')};
      }
      /* the notes under a path wrap at spaces; the table scrolls inside its box when they cannot */
      td small {
        white-space: normal;
      }
      @media (max-width: 600px) {
        .wide {
          display: none;
        }
      }
    `
  ]

  private readonly ctl = new NodeController(this)
  /** Content served moves without a node event: the table is redrawn every 2 s while shown. */
  private readonly redraw = new RedrawController(this, 2_000)

  override render(): unknown {
    const peers = this.ctl.store.node?.peers() ?? []
    const counts = peerCounts(peers)
    return html`<section aria-labelledby="peers-title">
      <h2 id="peers-title">Peers (${counts.peers})</h2>
      <p class="muted" data-testid="peer-counts">${peersSentence(counts)}</p>
      ${
        counts.peers === 0
          ? html`<div class="empty" data-empty="peers">
              <p><strong>No other tabs yet.</strong></p>
              <p>
                Open this page in another window, or send its address to someone: each tab that opens it
                connects here, first through the relay, then directly.
              </p>
            </div>`
          : nothing
      }
      ${
        peers.length === 0
          ? nothing
          : html`<div class="table-scroll" tabindex="0" role="region" aria-label="Connected peers">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Peer</th>
                    <th scope="col">Transport</th>
                    <th scope="col">Path</th>
                    <th scope="col" class="wide">Reputation</th>
                    <th scope="col" class="wide">Avg response</th>
                    <th scope="col" class="wide">Content</th>
                  </tr>
                </thead>
                <tbody>
                  ${peers.map(
                    p =>
                      html`<tr data-peer-id=${p.peerId}>
                        <td>
                          <code title=${p.peerId}>…${p.peerId.slice(-10)}</code>${p.relay ? ' (relay)' : ''}
                        </td>
                        <td>${p.transport}</td>
                        <td>
                          ${p.direct ? html`direct${pathNote(p.ice)}` : html`relayed${upgradeNote(p.upgrade)}`}
                        </td>
                        <td class="wide">
                          <meter
                            min="0"
                            max="1"
                            value=${p.reputation}
                            aria-label="Reputation of …${p.peerId.slice(-10)}"
                          ></meter>
                          ${p.reputation.toFixed(2)}
                        </td>
                        <td class="wide">${p.avgResponseMs != null ? `${p.avgResponseMs} ms` : '–'}</td>
                        <td class="wide content">${contentNote(p.content)}</td>
                      </tr>`
                  )}
                </tbody>
              </table>
            </div>`
      }
    </section>`
  }
}

if (customElements.get('mp-peers') == null) customElements.define('mp-peers', MpPeers)
