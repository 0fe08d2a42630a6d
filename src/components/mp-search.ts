import { LitElement, css, html, nothing } from 'lit'
import type { PropertyValues } from 'lit'
import { property, state } from 'lit/decorators.js'
import { NodeController } from '../app/node-controller.ts'
import { MemoryRouter, routeHash } from '../app/router.ts'
import type { Route, RouteQuery, Router } from '../app/router.ts'
import { emitError } from './events.ts'
import { provenance } from './provenance.ts'
import { fillForm, noPackagesYet, noResults, queryOfForm, resultCard } from './search-parts.ts'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'
import type { SearchQuery } from '../core/catalog/catalog.ts'
import type { SearchHit } from '../core/index.ts'

/** The package page, loaded the first time one is opened (it brings the download button along). */
let packagePage: Promise<unknown> | undefined

/** How many of the newest packages the start view lists. */
const NEWEST = 10

/**
 * Search across the network, at a URL: text with category and tag filters, results with where
 * they came from and who signed them, packages announced while the query is open appearing live,
 * and each package's page (`mp-package`). The view follows `router` (the app's URL, or the
 * widget's own history); before any search it lists the newest packages this node holds.
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
        border-radius: 6px;
        min-width: 0;
        max-width: 100%;
      }
      ul {
        list-style: none;
        padding: 0;
        display: grid;
        gap: 0.6rem;
      }
      article {
        border: 1px solid ${v('border')};
        border-radius: 6px;
        padding: 0.6rem 0.8rem;
      }
      h3 {
        margin: 0 0 0.25rem;
        font-size: 1rem;
      }
      .provenance {
        margin-bottom: 0.4rem;
      }
    `
  ]

  /** Where the person is; the app passes its URL's router, the widget one of its own. */
  @property({ attribute: false }) router: Router = new MemoryRouter(location.href)
  /** The relay's HTTP origin, for the package page's snippets. @default this page's origin */
  @property() relay = location.origin
  private readonly ctl = new NodeController(this)
  @state() private hits: SearchHit[] = []
  @state() private summary = ''
  @state() private busy = false
  @state() private error?: string
  /** The search route that ran (its hash), so each runs once however often the page redraws. */
  private ran?: string
  /** The route whose query the form shows. */
  private filled?: string
  private query?: SearchQuery
  /** The search under way, stopped by a new one or when the element leaves the page. */
  private running?: AbortController
  private listening?: Router
  private newest?: { cursor: number; hits: SearchHit[] }

  override render(): unknown {
    const node = this.ctl.store.node
    const ready = node != null && node.status().state !== 'starting'
    const route = this.router.route
    return html`<section aria-labelledby="search-title">
      <h2 id="search-title">Find packages</h2>
      <form @submit=${this.submit} role="search" part="search-form">
        <label for="search-text"
          >Search text <input id="search-text" name="text" type="search" placeholder="left pad" part="input"
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
      ${this.error != null ? html`<p role="alert" class="error">${this.error}</p>` : nothing}
      ${
        route.view === 'pkg'
          ? html`<mp-package
              exportparts="details, link, snippet, button"
              .router=${this.router}
              .relay=${this.relay}
              .packageId=${route.id}
              .version=${route.version}
            ></mp-package>`
          : route.view === 'search'
            ? this.renderResults(route.query)
            : this.renderNewest()
      }
    </section>`
  }

  private renderResults(query: RouteQuery): unknown {
    const hits = this.liveHits()
    return html`<p class="muted" role="status">${this.summary}</p>
      <ul aria-label="Search results">
        ${hits.map(hit => resultCard(hit, provenance(this.ctl.store, hit, hit), () => this.open(hit)))}
      </ul>
      ${
        hits.length === 0 && !this.busy && this.error == null && this.ran === routeHash(this.router.route)
          ? noResults(query)
          : nothing
      }`
  }

  /** Before any search: the newest packages this node holds, or how to find some. */
  private renderNewest(): unknown {
    const node = this.ctl.store.node
    if (node == null || node.status().state === 'starting')
      return html`<p class="muted">Starting the peer-to-peer node…</p>`
    if (this.newest?.cursor !== node.catalog.cursor) {
      const records = node.catalog.search({ text: '', limit: NEWEST }).records
      this.newest = {
        cursor: node.catalog.cursor,
        hits: records.map(r => ({ ...r, source: 'local', name: node.catalog.standing(r) }))
      }
    }
    const hits = this.newest.hits
    return html`<h3 id="newest-title">Newest packages here</h3>
      ${
        hits.length === 0
          ? noPackagesYet()
          : html`<ul aria-labelledby="newest-title">
              ${hits.map(hit => resultCard(hit, provenance(this.ctl.store, hit), () => this.open(hit)))}
            </ul>`
      }`
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

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('router') || this.listening == null) this.listen()
    if (this.router.route.view === 'pkg')
      packagePage ??= import('./mp-package.ts').catch((err: unknown) => {
        packagePage = undefined
        this.error = emitError(this, err)
      })
  }

  override updated(): void {
    const route = this.router.route
    const key = routeHash(route)
    if (route.view === 'search' && this.filled !== key) {
      this.filled = key
      fillForm(this.renderRoot, route.query)
    }
    // a search from the URL runs once the node can ask the network (a reload waits for it)
    const state = this.ctl.store.node?.status().state
    if (route.view === 'search' && this.ran !== key && (state === 'online' || state === 'offline')) {
      this.ran = key
      this.search({
        text: route.query.text,
        categories: route.query.categories,
        tags: route.query.tags,
        limit: 50
      })
    }
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.listen()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.listening?.removeEventListener('change', this.onRoute)
    this.listening = undefined
    this.running?.abort()
  }

  private listen(): void {
    if (this.listening === this.router) return
    this.listening?.removeEventListener('change', this.onRoute)
    this.listening = this.router
    this.router.addEventListener('change', this.onRoute)
  }

  private readonly onRoute = (): void => {
    this.error = undefined
    if (this.router.route.view === 'search' && routeHash(this.router.route) !== this.ran) {
      // another search: the last one's results go, and it stops
      this.running?.abort()
      this.query = undefined
      this.hits = []
      this.busy = false
      this.summary = 'Waiting for the network…'
    }
    this.requestUpdate()
  }

  private readonly submit = (event: SubmitEvent): void => {
    event.preventDefault()
    const route: Route = { view: 'search', query: queryOfForm(event.target as HTMLFormElement) }
    // the same search again runs again; a new one is a new place in the history
    if (routeHash(route) === routeHash(this.router.route)) this.ran = undefined
    this.router.navigate(route)
    this.requestUpdate()
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
    this.summary = 'Searching…'
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
        if (!running.signal.aborted) {
          this.error = emitError(this, err)
          this.summary = ''
          this.query = undefined
        }
      } finally {
        if (this.running === running) this.busy = false
      }
    })()
  }

  private open(hit: SearchHit): void {
    this.router.navigate({ view: 'pkg', id: hit.id, version: hit.version })
  }
}

if (customElements.get('mp-search') == null) customElements.define('mp-search', MpSearch)
