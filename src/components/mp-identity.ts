import { LitElement, css, html, nothing } from 'lit'
import { state } from 'lit/decorators.js'
import { NodeController } from '../app/node-controller.ts'
import { emitError } from './events.ts'
import { textOf } from './format.ts'
import { cardStyles } from './shared-styles.ts'
import type { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'

/** Records read to find the namespaces a key published in (a catalog holds at most 50 000). */
const MAX_RECORDS_READ = 50_000

/**
 * The key that signs this person's packages: its peer id, the namespaces it owns, and moving it
 * to another browser as a passphrase-encrypted file (`exportIdentity` / `importIdentity`).
 * Importing replaces the saved key and reloads the page; only the tab that holds this browser's
 * saved key can do it.
 */
export class MpIdentity extends LitElement {
  static override styles = [
    cardStyles,
    css`
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: end;
        margin-top: 0.6rem;
      }
      label {
        display: grid;
        gap: 0.2rem;
        font-weight: 600;
      }
      ul {
        margin: 0.3rem 0;
        padding-left: 1.2rem;
      }
    `
  ]

  private readonly ctl = new NodeController(this)
  @state() private message?: { text: string; error: boolean }
  private owned?: { size: number; namespaces: string[] }

  override render(): unknown {
    const { node, saveIdentity, exportIdentity } = this.ctl.store
    const peerId = peerIdOf(node)
    if (node == null || peerId == null)
      return html`<section aria-labelledby="identity-title">
        <h2 id="identity-title">Your key</h2>
        <p class="muted">The key appears once the node has started.</p>
      </section>`
    return html`<section aria-labelledby="identity-title">
      <h2 id="identity-title">Your key</h2>
      <p>
        Your packages are signed by <code data-testid="identity-peer-id">${peerId}</code>${
          node.temporaryKey
            ? html`, <strong>a temporary key</strong> (another tab holds your saved key)`
            : nothing
        }.
      </p>
      <p>Namespaces it owns:</p>
      <ul data-testid="identity-namespaces">
        ${this.namespaces(node, peerId).map(ns => html`<li><code>${ns}</code></li>`)}
      </ul>
      ${
        exportIdentity != null
          ? html`<form aria-label="Export your key" @submit=${this.export}>
              <label
                >Passphrase for the file (10 characters or more)
                <input
                  name="passphrase"
                  type="password"
                  autocomplete="new-password"
                  minlength="10"
                  required
                />
              </label>
              <button type="submit">Export key file</button>
            </form>`
          : nothing
      }
      ${
        saveIdentity != null
          ? html`<form aria-label="Import a key" @submit=${this.import}>
              <label
                >Key file <input name="file" type="file" accept=".json,application/json" required
              /></label>
              <label
                >Its passphrase
                <input name="passphrase" type="password" autocomplete="current-password" required
              /></label>
              <button type="submit">Import key</button>
            </form>`
          : html`<p class="muted">To import a key, use the tab that holds this browser's saved key.</p>`
      }
      ${
        this.message != null
          ? html`<p
              role=${this.message.error ? 'alert' : 'status'}
              class=${this.message.error ? 'error' : ''}
            >
              ${this.message.text}
            </p>`
          : nothing
      }
    </section>`
  }

  /** Its key namespace, and the namespaces of packages it published that this tab holds. */
  private namespaces(node: MarketplaceNode, peerId: string): string[] {
    if (this.owned?.size === node.catalog.size) return this.owned.namespaces
    const found = new Set([node.keyNamespace])
    const { records } = node.catalog.since(0, MAX_RECORDS_READ)
    for (const record of records)
      if (record.publisher === peerId) found.add(record.id.slice(0, record.id.indexOf('/')))
    this.owned = { size: node.catalog.size, namespaces: [...found] }
    return this.owned.namespaces
  }

  private readonly export = (event: SubmitEvent): void => {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const passphrase = textOf(new FormData(form).get('passphrase'))
    const peerId = peerIdOf(this.ctl.store.node) ?? 'key'
    this.ctl.store
      .exportIdentity?.(passphrase)
      .then(text => {
        const link = document.createElement('a')
        link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }))
        link.download = `p2p-marketplace-key-${peerId.slice(-8)}.json`
        link.click()
        setTimeout(() => URL.revokeObjectURL(link.href), 60_000)
        form.reset()
        this.message = { text: `Saved ${link.download}: keep it and its passphrase safe.`, error: false }
      })
      .catch((err: unknown) => {
        this.message = { text: emitError(this, err), error: true }
      })
  }

  private readonly import = (event: SubmitEvent): void => {
    event.preventDefault()
    const data = new FormData(event.target as HTMLFormElement)
    const file = data.get('file')
    const passphrase = textOf(data.get('passphrase'))
    const save = this.ctl.store.saveIdentity
    if (!(file instanceof File) || save == null) return
    this.message = { text: 'Opening the key file…', error: false }
    Promise.all([file.text(), import('../core/identity-file.ts')])
      .then(async ([text, { importIdentity }]) => await save(await importIdentity(text, passphrase)))
      .catch((err: unknown) => {
        this.message = { text: emitError(this, err), error: true }
      })
  }
}

/** The node's peer id, once it has one. */
function peerIdOf(node: MarketplaceNode | undefined): string | undefined {
  try {
    return node?.peerId
  } catch {
    return undefined // not started yet: no identity to show
  }
}

if (customElements.get('mp-identity') == null) customElements.define('mp-identity', MpIdentity)
