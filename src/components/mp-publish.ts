import { LitElement, css, html, nothing } from 'lit'
import { property, state } from 'lit/decorators.js'
import { NodeController } from '../app/node-controller.ts'
import { emitError } from './events.ts'
import { textOf } from './format.ts'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'
import type { PublishResult } from '../core/index.ts'

const FIELDS = [
  { name: 'id', label: 'Package id', placeholder: 'namespace/name', required: true },
  { name: 'version', label: 'Version', placeholder: '1.0.0', required: true },
  { name: 'title', label: 'Title', required: true },
  { name: 'description', label: 'Description', required: true, multiline: true },
  { name: 'license', label: 'License (SPDX)', placeholder: 'MIT', required: true },
  { name: 'categories', label: 'Categories (comma-separated)', list: true },
  { name: 'tags', label: 'Tags (comma-separated)', list: true },
  { name: 'homepage', label: 'Homepage URL' },
  { name: 'repository', label: 'Repository URL' }
] as const

type FieldName = (typeof FIELDS)[number]['name']

/**
 * The publish form: validated inline with the same schema the node uses,
 * progress while publishing, and the truthful result with a link to its trace.
 */
export class MpPublish extends LitElement {
  static override styles = [
    cardStyles,
    css`
      form {
        display: grid;
        gap: 0.6rem;
      }
      label {
        display: grid;
        gap: 0.2rem;
        font-weight: 600;
      }
      input,
      textarea {
        font: inherit;
        font-weight: normal;
        padding: 0.35rem 0.5rem;
        border-radius: 6px;
        /* a file input's own width would push a phone-wide page sideways */
        min-width: 0;
        max-width: 100%;
      }
      [aria-invalid='true'] {
        border-color: ${v('error')};
      }
      .error {
        color: ${v('error')};
        font-weight: normal;
        font-size: 0.9em;
      }
      .result {
        margin-top: 0.75rem;
      }
      .hint {
        font-weight: normal;
        font-size: 0.85em;
        color: ${v('muted')};
        overflow-wrap: anywhere;
      }
    `
  ]

  /**
   * Where "View its trace" points: '' = this page's trace panel (`#trace=…`);
   * the widget sets the relay's app, opened in a new tab.
   */
  @property({ attribute: 'trace-base' }) traceBase = ''
  private readonly ctl = new NodeController(this)
  @state() private errors: Partial<Record<FieldName | '(manifest)', string>> = {}
  @state() private busy = false
  @state() private result?: PublishResult
  @state() private failure?: string

  override render(): unknown {
    const node = this.ctl.store.node
    const ready = node != null && node.status().state !== 'starting'
    return html`<section aria-labelledby="publish-title">
      <h2 id="publish-title">Publish a package</h2>
      <form @submit=${this.submit} novalidate part="publish-form">
        ${FIELDS.map(field => {
          const error = this.errors[field.name]
          const id = `field-${field.name}`
          const attrs = { id, name: field.name, placeholder: 'placeholder' in field ? field.placeholder : '' }
          return html`<label for=${id}
            >${field.label}${'required' in field ? ' *' : ''}
            ${
              'multiline' in field
                ? html`<textarea
                    id=${attrs.id}
                    name=${attrs.name}
                    rows="3"
                    aria-invalid=${error != null}
                    aria-describedby=${`${id}-error`}
                  ></textarea>`
                : html`<input
                    id=${attrs.id}
                    name=${attrs.name}
                    placeholder=${attrs.placeholder}
                    aria-invalid=${error != null}
                    aria-describedby=${field.name === 'id' ? `${id}-hint ${id}-error` : `${id}-error`}
                  />`
            }
            ${field.name === 'id' && node != null ? this.nameHint(node) : nothing}
            <span class="error" id=${`${id}-error`} role=${error != null ? 'alert' : nothing}
              >${error ?? ''}</span
            >
          </label>`
        })}
        <label for="field-content"
          >Package file (optional)
          <input id="field-content" name="content" type="file" aria-describedby="field-content-hint" />
          <span class="hint" id="field-content-hint"
            >Shared peer to peer; its CID and size are signed with the package.</span
          >
        </label>
        ${this.temporaryKeyNotice()}
        <button type="submit" part="button" ?disabled=${!ready || this.busy || this.waitsForKeyChoice()}>
          ${this.busy ? 'Publishing…' : 'Publish'}
        </button>
      </form>
      ${this.failure != null ? html`<p class="error" role="alert">${this.failure}</p>` : nothing}
      ${
        this.result != null
          ? html`<div class="result" role="status" data-testid="publish-result">
              Published <strong>${this.result.id}@${this.result.version}</strong>:
              ${this.result.dhtStored ? 'stored in the DHT' : 'not stored in the DHT (no server acknowledged)'},
              ${this.result.announced ? 'announced to peers' : 'not announced (no peer listening yet)'}${
                this.result.content != null
                  ? html`; its file <code>${this.result.content.cid}</code> (${this.result.content.size}
                      bytes) is shared from here`
                  : nothing
              }.
              <a
                href=${`${this.traceBase}#/pkg/${this.result.id}@${this.result.version}`}
                target=${this.traceBase === '' ? '_self' : '_blank'}
                rel="noopener"
                >See its page</a
              >
              ·
              <a
                href=${`${this.traceBase}#trace=${this.result.traceId}`}
                target=${this.traceBase === '' ? '_self' : '_blank'}
                rel="noopener"
                >View its trace</a
              >
            </div>`
          : nothing
      }
    </section>`
  }

  /** On a temporary key, nothing is published until the person chooses to use it. */
  private waitsForKeyChoice(): boolean {
    return this.ctl.store.node?.temporaryKey === true && !this.ctl.store.temporaryKeyAccepted
  }

  private temporaryKeyNotice(): unknown {
    if (this.ctl.store.node?.temporaryKey !== true) return nothing
    return html`<div class="hint" role="note" data-testid="temporary-key">
      This tab runs on a temporary key: another tab of this browser holds your saved key. Packages published
      here are signed by a throwaway key, and their names stay with it. Publish from that tab, or
      ${
        this.ctl.store.temporaryKeyAccepted
          ? html`<strong>publishing with the temporary key</strong>.`
          : html`<button type="button" @click=${() => this.ctl.store.acceptTemporaryKey()}>
              Publish with this temporary key
            </button>`
      }
    </div>`
  }

  /** Which namespaces this node can publish in, and how each shows to others (PROTOCOL.md §3, Names). */
  private nameHint(node: { peerId: string; keyNamespace: string }): unknown {
    let peerId: string
    let keyNamespace: string
    try {
      ;({ peerId, keyNamespace } = node)
    } catch {
      return nothing // no identity yet (the node has not started, or could not)
    }
    return html`<span class="hint" id="field-id-hint" data-testid="name-hint"
      >Shown verified under a domain that lists your key (<code>${peerId}</code>) in
      <code>https://&lt;domain&gt;/.well-known/p2p-marketplace.json</code>; your own key namespace,
      <code class="key-namespace">${keyNamespace}</code>, needs no proof; any other name is unverified.</span
    >`
  }

  private readonly submit = (event: SubmitEvent): void => {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    // the node's own schema, loaded on first use so it stays out of the first paint
    import('../core/package/schema.ts')
      .then(schema => this.validateAndPublish(form, schema))
      .catch((err: unknown) => {
        this.failure = emitError(this, err)
      })
  }

  private validateAndPublish(
    form: HTMLFormElement,
    { manifestSchema, fieldIssues }: typeof import('../core/package/schema.ts')
  ): void {
    const manifest = this.manifestOf(new FormData(form))
    const parsed = manifestSchema.safeParse(manifest)
    this.result = undefined
    this.failure = undefined
    if (!parsed.success) {
      const errors: MpPublish['errors'] = {}
      for (const issue of fieldIssues(parsed.error)) {
        const field = issue.field.split('.')[0] as FieldName
        errors[field] ??= issue.message
      }
      this.errors = errors
      return
    }
    this.errors = {}
    const node = this.ctl.store.node
    if (node == null) return
    this.busy = true
    const file = (form.elements.namedItem('content') as HTMLInputElement | null)?.files?.[0]
    node
      .publish(parsed.data, {
        ...(file != null ? { content: file } : {}),
        temporaryKey: this.ctl.store.temporaryKeyAccepted
      })
      .then(result => {
        this.result = result
        form.reset()
        this.dispatchEvent(new CustomEvent('mp-published', { detail: result, bubbles: true, composed: true }))
      })
      .catch((err: unknown) => {
        this.failure = emitError(this, err)
      })
      .finally(() => {
        this.busy = false
      })
  }

  /** Form values as a manifest: empty optional fields left out, lists split on commas. */
  private manifestOf(data: FormData): Record<string, unknown> {
    const manifest: Record<string, unknown> = {}
    for (const field of FIELDS) {
      const raw = textOf(data.get(field.name)).trim()
      if ('list' in field) {
        const items = raw
          .split(',')
          .map(s => s.trim())
          .filter(s => s !== '')
        if (items.length > 0) manifest[field.name] = items
      } else if (raw !== '' || 'required' in field) {
        manifest[field.name] = raw
      }
    }
    return manifest
  }
}

if (customElements.get('mp-publish') == null) customElements.define('mp-publish', MpPublish)
