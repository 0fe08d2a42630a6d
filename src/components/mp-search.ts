import { LitElement, css, html, nothing } from 'lit'
import { property, state } from 'lit/decorators.js'
import { NodeController } from '../app/node-controller.ts'
import { describeError } from '../core/errors.ts'
import './mp-download.ts'
import { nameBadges } from './name-badges.ts'
import { cardStyles } from './shared-styles.ts'
import type { SearchQuery } from '../core/catalog/catalog.ts'
import type { SearchHit } from '../core/index.ts'
import type { PackageRecord } from '../core/package/schema.ts'

const short = (peerId: string): string => `…${peerId.slice(-8)}`

const textOf = (value: FormDataEntryValue | null): string => (typeof value === 'string' ? value : '')
const list = (value: FormDataEntryValue | null): string[] =>
  textOf(value)
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== '')

/**
 * Search across the network: text with category and tag filters, results with
 * where they came from and who signed them, a detail view with every version,
 * and packages announced while the query is open appearing live. Every field
 * is rendered as text (Lit escapes interpolations), never as HTML.
 */
export class MpSearch extends LitElement {
  static override styles = [
    cardStyles,
    css`
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: end;
      }
      label {
        display: grid;
        gap: 0.2rem;
        font-weight: 600;
      }
      input {
        font: inherit;
        font-weight: normal;
        padding: 0.35rem 0.5rem;
        border: 1px solid var(--mp-border, #d9dee8);
        border-radius: 6px;
      }
      ul {
        list-style: none;
        padding: 0;
        display: grid;
        gap: 0.6rem;
      }
      article {
        border: 1px solid var(--mp-border, #d9dee8);
        border-radius: 6px;
        padding: 0.6rem 0.8rem;
      }
      h3 {
        margin: 0 0 0.25rem;
        font-size: 1rem;
      }
      .badge {
        display: inline-block;
        font-size: 0.8em;
        padding: 0 0.4rem;
        border-radius: 4px;
        background: #e7f0ff;
        margin-right: 0.3rem;
      }
      .verified {
        background: #d7f5df;
        color: #135c2a;
      }
      .unverified {
        background: #eef0f4;
        color: #4a5263;
      }
      .lookalike {
        background: #fff1c2;
        color: #6b4a00;
        font-weight: 600;
      }
      .summary {
        color: var(--mp-muted, #5b6474);
      }
    `
  ]

  /** Text searched for as soon as the node is online (the widget's `query` attribute); set before connecting. */
  @property({ attribute: 'initial-query' }) initialQuery = ''
  private initialDone = false
  private readonly ctl = new NodeController(this)
  @state() private query?: SearchQuery
  @state() private hits: SearchHit[] = []
  @state() private summary = ''
  @state() private busy = false
  /** The search under way, stopped by a new one or when the element leaves the page. */
  private running?: AbortController
  @state() private error?: string
  @state() private detail?: { record: PackageRecord; versions: string[] }

  override render(): unknown {
    const node = this.ctl.store.node
    const ready = node != null && node.status().state !== 'starting'
    return html`<section aria-labelledby="search-title">
      <h2 id="search-title">Find packages</h2>
      <form @submit=${this.submit} role="search" part="search-form">
        <label for="search-text"
          >Search text
          <input
            id="search-text"
            name="text"
            type="search"
            placeholder="left pad"
            part="input"
            .value=${this.initialQuery}
        /></label>
        <label for="search-categories"
          >Categories <input id="search-categories" name="categories" placeholder="text, ui" part="input"
        /></label>
        <label for="search-tags"
          >Tags <input id="search-tags" name="tags" placeholder="string" part="input"
        /></label>
        <button type="submit" part="button" ?disabled=${!ready || this.busy}>
          ${this.busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      ${this.error != null ? html`<p role="alert">${this.error}</p>` : nothing}
      <p class="summary" role="status">${this.summary}</p>
      <ul aria-label="Search results">
        ${this.liveHits().map(
          hit =>
            html`<li>
              <article aria-label=${hit.title} part="result">
                <h3>${hit.title}</h3>
                <div><code>${hit.id}</code> ${hit.version} ${nameBadges(hit)}</div>
                <p>${hit.description}</p>
                <div>
                  ${(hit.tags ?? []).map(t => html`<span class="badge">${t}</span>`)}
                  ${(hit.categories ?? []).map(c => html`<span class="badge">${c}</span>`)}
                </div>
                <div class="summary">
                  <span class="badge verified" title=${`signature verified against ${hit.publisher}`}
                    >✓ signed by ${short(hit.publisher)}</span
                  >
                  from
                  ${hit.source === 'local' ? 'this node' : hit.source === 'dht' ? 'the DHT' : `peer ${short(hit.from ?? '')}`}
                </div>
                <button @click=${() => this.open(hit)} aria-label=${`Details of ${hit.id}`} part="button">
                  Details
                </button>
              </article>
            </li>`
        )}
      </ul>
      ${this.detail != null ? this.renderDetail(this.detail.record, this.detail.versions) : nothing}
    </section>`
  }

  private renderDetail(record: PackageRecord, versions: string[]): unknown {
    const rows: Array<[string, string]> = [
      ['Id', record.id],
      ['Version', record.version],
      ['Title', record.title],
      ['Description', record.description],
      ['License', record.license],
      ['Categories', (record.categories ?? []).join(', ')],
      ['Tags', (record.tags ?? []).join(', ')],
      ['Authors', (record.authors ?? []).join(', ')],
      ['Homepage', record.homepage ?? ''],
      ['Repository', record.repository ?? ''],
      [
        'Dependencies',
        Object.entries(record.dependencies ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      ],
      ['Content hash', record.contentHash ?? ''],
      [
        'File',
        record.content != null
          ? `${record.content.name ?? '(unnamed)'}, ${record.content.size} bytes, ${record.content.cid}`
          : ''
      ],
      ['Publisher', record.publisher],
      ['Published', record.publishedAt],
      ['All versions', versions.join(', ')]
    ]
    return html`<div role="region" aria-label="Package details" part="details">
      <h3>${record.title}</h3>
      <dl>
        ${rows
          .filter(([, v]) => v !== '')
          .map(
            ([k, v]) =>
              html`<dt>${k}</dt>
                <dd>${v}</dd>`
          )}
      </dl>
      ${record.content != null ? html`<mp-download .record=${record}></mp-download>` : nothing}
      <button @click=${() => this.close()}>Close details</button>
    </div>`
  }

  /** The last results, plus packages that arrived since and match the query (live). */
  private liveHits(): SearchHit[] {
    const node = this.ctl.store.node
    if (this.query == null || node == null) return this.hits
    const known = new Map(this.hits.map(h => [h.id, h]))
    return node.catalog.search(this.query).records.map(record => ({
      ...record,
      ...(known.get(record.id) ?? { source: 'local' as const }),
      name: node.catalog.standing(record)
    }))
  }

  override updated(): void {
    if (this.initialDone || this.initialQuery === '') return
    if (this.ctl.store.node?.status().state !== 'online') return
    this.initialDone = true
    this.search({ text: this.initialQuery, limit: 50 })
  }

  private readonly submit = (event: SubmitEvent): void => {
    event.preventDefault()
    const data = new FormData(event.target as HTMLFormElement)
    this.search({
      text: textOf(data.get('text')),
      categories: list(data.get('categories')),
      tags: list(data.get('tags')),
      limit: 50
    })
  }

  /**
   * Runs a search across the network and shows its results as they come: this node's at once,
   * then each peer's answer merged in place (and kept live as packages arrive). A new search
   * stops the one under way.
   */
  search(query: SearchQuery): void {
    const node = this.ctl.store.node
    if (node == null) return
    this.running?.abort()
    const running = (this.running = new AbortController())
    this.busy = true
    this.error = undefined
    this.query = query
    this.hits = []
    const answered = new Set<string>()
    const count = (): string => {
      const network = this.hits.filter(h => h.source !== 'local').length
      return `${this.hits.length} result(s): ${this.hits.length - network} already here, ${network} from the network`
    }
    void (async () => {
      try {
        for await (const batch of node.searchStream(query, { signal: running.signal })) {
          const known = new Set(this.hits.map(h => h.id))
          this.hits = [...this.hits, ...batch.packages.filter(p => !known.has(p.id))]
          if (batch.from != null) answered.add(batch.from)
          this.summary = `${count()}; ${answered.size} peer(s) answered so far…`
        }
        this.summary = `${count()}; ${answered.size} peer(s) answered.`
      } catch (err) {
        if (!running.signal.aborted) this.error = describeError(err)
      } finally {
        if (this.running === running) this.busy = false
      }
    })()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.running?.abort()
  }

  private open(hit: SearchHit): void {
    const node = this.ctl.store.node
    if (node == null) return
    node
      .listVersions(hit.id)
      // versions unknown (offline, no peer answered): the details open with the one in hand
      .catch(() => [hit.version])
      .then(versions => {
        this.detail = { record: hit, versions }
        this.dispatchEvent(
          new CustomEvent('mp-select', {
            detail: { id: hit.id, version: hit.version },
            bubbles: true,
            composed: true
          })
        )
      })
      // only a listener of the event can throw here; the details already opened
      .catch(() => {})
  }

  private close(): void {
    this.detail = undefined
  }
}

if (customElements.get('mp-search') == null) customElements.define('mp-search', MpSearch)
