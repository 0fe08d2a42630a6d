import { LitElement, css, html, nothing } from 'lit'
import { property, state } from 'lit/decorators.js'
import { NodeController } from '../app/node-controller.ts'
import { describeError } from '../core/errors.ts'
import { bytesText } from './format.ts'
import type { PackageRecord } from '../core/index.ts'

/**
 * Downloads a package's content from the peers that have it: a progress bar (bytes, speed, the
 * peers it came from), then a verified badge and the file saved under the package's name. The
 * download runs in the node (every block checked against its CID); leaving the page cancels it.
 */
export class MpDownload extends LitElement {
  static override styles = css`
    progress {
      width: 100%;
    }
    .verified {
      color: var(--mp-ok, #1a7f37);
      font-weight: 600;
    }
    .error {
      color: var(--mp-error, #b42318);
    }
    small {
      color: var(--mp-muted, #5b6474);
      overflow-wrap: anywhere;
    }
  `

  @property({ attribute: false }) record?: PackageRecord
  private readonly ctl = new NodeController(this)
  @state() private progress?: { bytes: number; total: number; peers: string[]; startedAt: number }
  @state() private done?: { cid: string; peers: string[]; ms: number }
  @state() private failure?: string
  private cancel?: AbortController

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.cancel?.abort(new DOMException('the download left the page', 'AbortError'))
  }

  override render(): unknown {
    const content = this.record?.content
    if (content == null) return nothing
    const name = content.name ?? `${this.record?.id.replace('/', '-')}-${this.record?.version}`
    const p = this.progress
    return html`<div part="download">
      <button
        part="button"
        ?disabled=${p != null}
        @click=${() => this.download(name)}
        aria-label=${`Download ${name} (${bytesText(content.size)})`}
      >
        Download ${name} (${bytesText(content.size)})
      </button>
      ${
        p != null
          ? html`<progress max=${p.total} value=${p.bytes} aria-label="Download progress"></progress>
              <small data-testid="download-progress"
                >${bytesText(p.bytes)} of ${bytesText(p.total)} ·
                ${bytesText((p.bytes / Math.max(1, performance.now() - p.startedAt)) * 1000)}/s · from
                ${p.peers.length} peer(s)</small
              >`
          : nothing
      }
      ${
        this.done != null
          ? html`<p role="status" data-testid="download-result">
              <span class="verified">✓ Verified</span> every block against <code>${this.done.cid}</code>, in
              ${Math.round(this.done.ms)} ms, from
              ${this.done.peers.length > 0 ? this.done.peers.map(id => `…${id.slice(-6)}`).join(', ') : 'this tab'}
            </p>`
          : nothing
      }
      ${this.failure != null ? html`<p class="error" role="alert">${this.failure}</p>` : nothing}
    </div>`
  }

  private download(name: string): void {
    const node = this.ctl.store.node
    const record = this.record
    if (node == null || record?.content == null) return
    this.cancel = new AbortController()
    this.done = undefined
    this.failure = undefined
    const startedAt = performance.now()
    this.progress = { bytes: 0, total: record.content.size, peers: [], startedAt }
    node
      .fetchContent(record.id, record.version, {
        signal: this.cancel.signal,
        onProgress: ({ bytes, total, peers }) => (this.progress = { bytes, total, peers, startedAt })
      })
      .then(({ cid, bytes, peers }) => {
        this.done = { cid, peers, ms: performance.now() - startedAt }
        save(bytes, name, record.content?.mediaType)
      })
      .catch((err: unknown) => {
        this.failure = describeError(err)
      })
      .finally(() => {
        this.progress = undefined
      })
  }
}

/** Hands `bytes` to the browser as a download named `name`. */
function save(bytes: Uint8Array, name: string, mediaType = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mediaType }))
  const link = Object.assign(document.createElement('a'), { href: url, download: name })
  link.click()
  // the download has its own copy once started
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

if (customElements.get('mp-download') == null) customElements.define('mp-download', MpDownload)
