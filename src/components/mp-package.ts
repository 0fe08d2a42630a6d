import { LitElement, css, html, nothing } from 'lit'
import { property, state } from 'lit/decorators.js'
import { NodeController } from '../app/node-controller.ts'
import { MemoryRouter } from '../app/router.ts'
import type { Router } from '../app/router.ts'
import { timeAgo } from './dates.ts'
import { emitError } from './events.ts'
import { bytesText } from './format.ts'
import './mp-download.ts'
import { nameBadges } from './name-badges.ts'
import { dependencyList, snippetBlock, snippetsOf, versionList } from './package-sections.ts'
import type { VersionEntry } from './package-sections.ts'
import { provenance } from './provenance.ts'
import { externalLink } from './safe-link.ts'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'
import type { PackageRecord } from '../core/package/schema.ts'

/**
 * A package's page (`#/pkg/<id>@<version>` in the app): what it is, every version with when it
 * was published, who published it and whether the name is theirs, where this node got it, its
 * dependencies (each a link to its page), homepage and repository (links only when http(s)), the
 * snippets to embed or fetch it, and its download. Loaded lazily, the first time a page opens.
 */
export class MpPackage extends LitElement {
  static override styles = [
    cardStyles,
    css`
      :host {
        margin-top: 1rem;
        /* the download button's colours, resolved here from the theme (its own fallbacks are light) */
        --mp-resolved-ok: ${v('ok')};
        --mp-resolved-error: ${v('error')};
        --mp-resolved-muted: ${v('muted')};
      }
      mp-download {
        --mp-ok: var(--mp-resolved-ok);
        --mp-error: var(--mp-resolved-error);
        --mp-muted: var(--mp-resolved-muted);
      }
      h3 {
        margin: 0.5rem 0 0.25rem;
        font-size: 1.15rem;
      }
      h4 {
        margin: 1rem 0 0.4rem;
        font-size: 0.95rem;
      }
      dl {
        display: grid;
        grid-template-columns: max-content minmax(0, 1fr);
        gap: 0.3rem 1rem;
        margin: 0.75rem 0 0;
      }
      dt {
        font-weight: 600;
      }
      dd {
        margin: 0;
        min-width: 0;
      }
      ol,
      ul {
        margin: 0;
        padding-left: 1.25rem;
      }
      ol.versions {
        list-style: none;
        padding-left: 0;
      }
      .snippet {
        margin: 0 0 0.75rem;
      }
      figcaption {
        font-size: 0.9em;
        margin-bottom: 0.25rem;
      }
      pre {
        margin: 0 0 0.3rem;
        padding: 0.5rem 0.75rem;
        border-radius: 6px;
        background: ${v('neutral-bg')};
        overflow-x: auto;
        max-width: 100%;
      }
      .back {
        margin-top: 0.25rem;
      }
      /* a file named after a long key namespace wraps inside its button instead of widening the page */
      mp-download::part(button) {
        max-width: 100%;
        overflow-wrap: anywhere;
        text-align: left;
      }
      @media (max-width: 600px) {
        dl {
          grid-template-columns: minmax(0, 1fr);
        }
        dd {
          margin-bottom: 0.4rem;
        }
      }
    `
  ]

  @property({ attribute: false }) router: Router = new MemoryRouter(location.href)
  /** The relay's HTTP origin, for the snippets. */
  @property() relay = location.origin
  @property({ attribute: 'package-id' }) packageId = ''
  /** The version shown; none: the latest. */
  @property() version?: string
  private readonly ctl = new NodeController(this)
  @state() private record?: PackageRecord
  @state() private versions: VersionEntry[] = []
  @state() private missing = false
  @state() private error?: string
  @state() private copied?: string
  /** The page being loaded or shown (`id@version`). */
  private loading?: string
  private cancel?: AbortController

  override render(): unknown {
    const record = this.record
    const back = html`<button class="back" type="button" @click=${() => this.router.back()} part="button">
      ← Back
    </button>`
    const ref = `${this.packageId}${this.version != null ? `@${this.version}` : ''}`
    if (record == null)
      return html`<div role="region" aria-label="Package details" part="details">
        ${back}
        ${
          this.error != null
            ? html`<p role="alert" class="error">${this.error}</p>`
            : this.missing
              ? html`<div class="empty" data-empty="package">
                  <p>
                    <strong>No package <code>${ref}</code> here or among the peers asked.</strong>
                  </p>
                  <p>
                    Its publisher may be offline with no peer holding it yet: try again later, or search for
                    it.
                  </p>
                </div>`
              : html`<p class="muted" role="status">Looking up <code>${ref}</code>…</p>`
        }
      </div>`
    const store = this.ctl.store
    const standing = store.node?.catalog.standing(record)
    return html`<div role="region" aria-label="Package details" part="details">
      ${back}
      <h3>${record.title}</h3>
      <div>
        <code>${record.id}</code> <strong>${record.version}</strong>
        <span class="muted">· published ${timeAgo(record.publishedAt)}</span>
        ${standing != null ? nameBadges({ id: record.id, name: standing }) : nothing}
      </div>
      <p>${record.description}</p>
      <dl>
        <dt>Publisher</dt>
        <dd>
          <code>${record.publisher}</code>
          <span class="badge verified" title="the record's signature checks against this key"
            >✓ signature verified</span
          >
        </dd>
        <dt>Where from</dt>
        <dd data-provenance>${provenance(store, record)}</dd>
        <dt>License</dt>
        <dd>${record.license}</dd>
        ${this.row('Homepage', record.homepage != null ? externalLink(record.homepage) : undefined)}
        ${this.row('Repository', record.repository != null ? externalLink(record.repository) : undefined)}
        ${this.row('Categories', record.categories?.join(', '))} ${this.row('Tags', record.tags?.join(', '))}
        ${this.row('Authors', record.authors?.join(', '))}
        ${this.row('Content hash', record.contentHash != null ? html`<code>${record.contentHash}</code>` : undefined)}
        ${this.row(
          'File',
          record.content != null
            ? html`${record.content.name ?? '(unnamed)'}, ${record.content.size} bytes
                (${bytesText(record.content.size)}), <code>${record.content.cid}</code>`
            : undefined
        )}
      </dl>
      ${record.content != null ? html`<mp-download .record=${record}></mp-download>` : nothing}
      ${dependencyList(this.router, record)}
      ${versionList(this.router, record.id, record.version, this.versions)}
      <h4>Use it</h4>
      ${snippetsOf(record, this.relayOrigin()).map(s =>
        snippetBlock(s, this.copied === s.key, () => this.copy(s.key, s.text))
      )}
      ${snippetBlock(
        {
          key: 'link',
          label: 'Link to this page',
          text: this.router.shareUrl({ view: 'pkg', id: record.id, version: record.version })
        },
        this.copied === 'link',
        () => this.copy('link', this.router.shareUrl({ view: 'pkg', id: record.id, version: record.version }))
      )}
    </div>`
  }

  private row(label: string, value: unknown): unknown {
    if (value == null || value === '') return nothing
    return html`<dt>${label}</dt>
      <dd>${value}</dd>`
  }

  override updated(): void {
    const ref = `${this.packageId}@${this.version ?? ''}`
    const state = this.ctl.store.node?.status().state
    // a link opened on reload waits until the node can ask its peers
    if (this.loading === ref || this.packageId === '' || (state !== 'online' && state !== 'offline')) return
    this.loading = ref
    // the latest version, now named in the URL: already shown
    if (this.record?.id === this.packageId && this.record.version === this.version) return
    void this.load(this.packageId, this.version)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.cancel?.abort()
    this.loading = undefined
  }

  private async load(id: string, version: string | undefined): Promise<void> {
    const node = this.ctl.store.node
    if (node == null) return
    this.cancel?.abort()
    const cancel = (this.cancel = new AbortController())
    const { signal } = cancel
    this.record = undefined
    this.missing = false
    this.error = undefined
    this.versions = []
    try {
      const record = await node.getPackage(id, version, { signal })
      if (signal.aborted) return
      if (record == null) {
        this.missing = true
        return
      }
      this.record = record
      // a link without a version shows the latest: the URL names it, so a copy of it stays put
      if (version == null)
        this.router.navigate({ view: 'pkg', id, version: record.version }, { replace: true })
      this.dispatchEvent(
        new CustomEvent('mp-select', {
          detail: { id: record.id, version: record.version },
          bubbles: true,
          composed: true
        })
      )
      // every version the peers asked know (they join the catalog), each with its date
      const versions = await node.listVersions(id, { signal }).catch(() => node.catalog.listVersions(id))
      if (signal.aborted) return
      this.versions = (versions.includes(record.version) ? versions : [record.version, ...versions]).map(
        v => {
          const publishedAt = node.catalog.get(id, v)?.publishedAt
          return publishedAt != null ? { version: v, publishedAt } : { version: v }
        }
      )
    } catch (err) {
      if (!signal.aborted) this.error = emitError(this, err)
    }
  }

  private relayOrigin(): string {
    try {
      return new URL(this.relay, location.href).origin
    } catch {
      return location.origin
    }
  }

  private copy(key: string, text: string): void {
    navigator.clipboard
      .writeText(text)
      .then(() => {
        this.copied = key
        setTimeout(() => {
          if (this.copied === key) this.copied = undefined
        }, 1500)
      })
      // clipboard refused (no permission, page not focused): the text stays there to select by hand
      .catch(() => {})
  }
}

if (customElements.get('mp-package') == null) customElements.define('mp-package', MpPackage)
