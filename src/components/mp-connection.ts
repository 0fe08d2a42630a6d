import { LitElement, css, html, nothing } from 'lit'
import { state } from 'lit/decorators.js'
import { NodeController } from '../app/node-controller.ts'
import { allowOtlp, collectorOrigin } from '../app/otlp-consent.ts'
import { peerCounts, peersSentence } from './provenance.ts'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'
import { iceCheckFailed } from '../core/network/ice-check.ts'
import type { IceCheck } from '../core/network/ice-check.ts'
import type { NodeState } from '../core/index.ts'

const STATE_LABEL: Record<NodeState, string> = {
  starting: 'Starting',
  bootstrapping: 'Connecting',
  online: 'Online',
  offline: 'Offline'
}

/** What the check of the STUN/TURN servers found: a warning when one does not work, else a short line. */
function iceNote(ice: IceCheck): unknown {
  if (ice.state === 'checking') return html`<span class="muted">checking…</span>`
  if (iceCheckFailed(ice))
    return html`<span class="ice-problem" data-testid="ice-check">⚠ ${ice.summary}</span>`
  return html`<span class="muted">✓ ${ice.summary}</span>`
}

/** Bootstrap progress, peer id, relay reservation, the STUN/TURN check and a retry button when offline. */
export class MpConnection extends LitElement {
  static override styles = [
    cardStyles,
    css`
      .state {
        display: inline-block;
        padding: 0.1rem 0.6rem;
        border-radius: 999px;
        font-weight: 600;
        background: ${v('neutral-bg')};
      }
      .state[data-state='online'] {
        background: ${v('ok-bg')};
      }
      .state[data-state='offline'] {
        background: ${v('error-bg')};
      }
      ol.steps {
        display: flex;
        gap: 0.5rem;
        padding: 0;
        list-style: none;
        flex-wrap: wrap;
      }
      ol.steps li {
        padding: 0.1rem 0.5rem;
        border-radius: 4px;
        border: 1px solid ${v('border')};
        white-space: nowrap;
      }
      ol.steps li[data-done] {
        background: ${v('ok-bg')};
        border-color: ${v('ok')};
      }
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.35rem 1rem;
        margin: 0.75rem 0 0;
      }
      dt {
        font-weight: 600;
      }
      dd {
        margin: 0;
      }
      .ice-problem {
        color: ${v('error')};
      }
      .otlp-question {
        border: 1px solid ${v('warn')};
        background: ${v('warn-bg')};
        border-radius: 6px;
        padding: 0.5rem 0.75rem;
        margin-bottom: 0.75rem;
      }
      .otlp-question p {
        margin: 0 0 0.5rem;
      }
    `
  ]

  private readonly ctl = new NodeController(this)
  @state() private copied = false

  override render(): unknown {
    const { node, error, persistentIdentity } = this.ctl.store
    if (error != null) {
      return html`<section aria-labelledby="conn-title">
        <h2 id="conn-title">Connection</h2>
        <p role="alert"><span class="state" data-state="offline">Failed</span> ${error}</p>
        <button @click=${() => location.reload()}>Reload</button>
      </section>`
    }
    const status = node?.status()
    const state: NodeState = status?.state ?? 'starting'
    const relay = status?.relayStates[0]
    const steps = [
      { label: 'Started', done: state !== 'starting' },
      { label: 'Relay connected', done: relay?.connected === true },
      { label: 'Slot reserved', done: (status?.relays ?? 0) > 0 },
      { label: 'Peers', done: (status?.peers ?? 0) > 0 }
    ]
    const peerId = state === 'starting' ? undefined : node?.libp2p.peerId.toString()
    return html`<section aria-labelledby="conn-title">
      <h2 id="conn-title">Connection</h2>
      ${this.otlpQuestion()}
      <p>
        <span class="state" data-state=${state} role="status" aria-live="polite" data-testid="node-state"
          >${STATE_LABEL[state]}</span
        >
        ${this.progress(state, status?.progress)}
        ${state === 'offline' ? html`<button @click=${() => node?.retry()}>Retry now</button>` : nothing}
      </p>
      <ol class="steps" aria-label="Bootstrap progress">
        ${steps.map(s => html`<li ?data-done=${s.done}>${s.done ? '✓ ' : ''}${s.label}</li>`)}
      </ol>
      <dl>
        <dt>Peer id</dt>
        <dd>
          ${
            peerId != null
              ? html`<code data-testid="peer-id">${peerId}</code>
                  <button @click=${() => this.copy(peerId)} aria-label="Copy peer id">
                    ${this.copied ? 'Copied' : 'Copy'}
                  </button>`
              : html`<span class="muted">…</span>`
          }
          ${persistentIdentity ? nothing : html`<div class="muted">Another tab of this browser owns the saved identity; this tab uses a temporary one.</div>`}
        </dd>
        <dt>Relay</dt>
        <dd>
          ${
            relay == null
              ? html`<span class="muted">…</span>`
              : html`<code>${relay.addr}</code><br />
                  <span data-testid="reservation"
                    >${relay.reserved ? 'reservation held' : relay.connected ? 'connected, reserving a slot' : 'not connected'}</span
                  >
                  ${relay.lastError != null && !relay.connected ? html`<div class="muted">${relay.lastError}</div>` : nothing}`
          }
        </dd>
        <dt>Peers</dt>
        <dd data-testid="peer-counts">${peersSentence(peerCounts(node?.peers() ?? []))}</dd>
        ${
          status?.ice != null
            ? html`<dt>STUN/TURN</dt>
                <dd>${iceNote(status.ice)}</dd>`
            : nothing
        }
      </dl>
    </section>`
  }

  /** What the node is doing, unless the state already says it ("Online", not "Online online"). */
  private progress(state: NodeState, progress: string | undefined): unknown {
    const text = progress ?? 'loading the peer-to-peer node'
    if (text.toLowerCase() === STATE_LABEL[state].toLowerCase()) return nothing
    return html`<span class="muted">${text}</span>`
  }

  /** Asks before spans go to the collector a link named (`?otlp=`); until then they stay with the relay. */
  private otlpQuestion(): unknown {
    const url = this.ctl.store.otlpRequest
    if (url == null) return nothing
    const origin = collectorOrigin(url)
    return html`<div
      class="otlp-question"
      role="alertdialog"
      aria-labelledby="otlp-q"
      data-testid="otlp-question"
    >
      <p id="otlp-q">
        This link asks to send this tab's traces (what you search and publish, and your peer id) to
        <code>${origin ?? url}</code> instead of the relay's collector.
      </p>
      ${
        origin == null
          ? html`<p class="muted">That is not an http(s) address; traces stay with the relay.</p>`
          : html`<button
              @click=${() => {
                allowOtlp(url)
                location.reload()
              }}
            >
              Send traces there
            </button>`
      }
      <button @click=${() => this.ctl.store.declineOtlp()}>Keep them with the relay</button>
    </div>`
  }

  private copy(text: string): void {
    navigator.clipboard
      .writeText(text)
      .then(() => {
        this.copied = true
        setTimeout(() => (this.copied = false), 1500)
      })
      // clipboard refused (no permission, page not focused): the button just does not say "Copied"
      .catch(() => {})
  }
}

if (customElements.get('mp-connection') == null) customElements.define('mp-connection', MpConnection)
