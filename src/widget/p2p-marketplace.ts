import { LitElement, css, html, nothing } from 'lit'
import { NodeController } from '../app/node-controller.ts'
import { nodeStore } from '../app/node-store.ts'
import { MemoryRouter, parseRoute } from '../app/router.ts'
import type { Route } from '../app/router.ts'
import '../components/mp-publish.ts'
import '../components/mp-search.ts'
import { peerCounts, peersSentence } from '../components/provenance.ts'
import { darkDeclarations, v } from '../components/theme.ts'
import type { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'

declare global {
  interface HTMLElementTagNameMap {
    'p2p-marketplace': P2pMarketplace
  }
}

export type WidgetMode = 'search' | 'publish' | 'both'

/** `light` (the default), `dark`, or `auto` (the visitor's system preference). */
export type WidgetTheme = 'light' | 'dark' | 'auto'

/** Where this module was served from: the relay, unless the `relay` attribute says otherwise. */
const SCRIPT_ORIGIN = new URL(import.meta.url).origin

/**
 * One node per page, however many widgets: the first widget to connect boots
 * it (libp2p arrives in its own chunk, after the first render), the others
 * share it through the node store.
 */
let booting: { relay: string; done: Promise<void> } | undefined
function ensureNode(relay: string): Promise<void> {
  if (booting == null) {
    booting = {
      relay,
      done: import('../app/boot.ts')
        .then(async ({ boot }) => await boot(nodeStore, { relay, global: false }))
        .catch((err: unknown) => nodeStore.setError(`could not load the node: ${String(err)}`))
    }
  } else if (new URL(booting.relay).origin !== new URL(relay).origin) {
    console.warn(
      `p2p-marketplace: this page's node already uses the relay ${booting.relay}; ${relay} is ignored`
    )
  }
  return booting.done
}

const STATE_TEXT = { starting: 'Starting', bootstrapping: 'Connecting', online: 'Online', offline: 'Offline' }

/**
 * `<p2p-marketplace>`: peer-to-peer package search (and publishing) for any
 * site, in one script tag. Shadow DOM keeps its styles and the host's apart;
 * every colour comes from a CSS custom property (`--mp-fg`, `--mp-card-bg`,
 * `--mp-accent`, and the ones mixed from them: `components/theme.ts`), the
 * rest through `::part()`.
 *
 * Attributes: `relay` (the relay's HTTP origin; default: where this script
 * came from), `mode` (`search` | `publish` | `both`), `query` (searched once
 * online), `package` (`<id>@<version>`: opens that package's page), `heading`,
 * `theme` (`light` | `dark` | `auto`). Events (bubbling, composed): `mp-ready`
 * (detail: the node), `mp-status`, `mp-select` (a person opened a package:
 * `{ id, version }`), `mp-published` (the publish result), `mp-error` (an
 * operation failed: `{ message, name }`). Property `marketplace`: the node's
 * API (contract §2), once ready. The widget keeps where the person is in
 * memory: the host page's URL and history are the host's.
 */
export class P2pMarketplace extends LitElement {
  static override properties = {
    relay: { type: String },
    mode: { type: String },
    query: { type: String },
    package: { type: String },
    heading: { type: String },
    theme: { type: String, reflect: true }
  }

  static override styles = css`
    :host {
      /* nothing inherited from the host page except the theme's custom properties */
      all: initial;
      display: block;
      contain: content;
    }
    /* the dark theme's base colours; a host page's own --mp-* values still win (outer rules beat :host) */
    :host([theme='dark']) {
      ${darkDeclarations}
    }
    @media (prefers-color-scheme: dark) {
      :host([theme='auto']) {
        ${darkDeclarations}
      }
    }
    /* set here, not on :host: the host page's own rules (even a universal selector) win over :host */
    .widget {
      font-family: var(--mp-font, system-ui, sans-serif);
      font-size: 16px;
      line-height: 1.4;
      color: ${v('fg')};
    }
    :host([hidden]) {
      display: none;
    }
    .widget {
      display: grid;
      /* as wide as the host gives, never wider: a long snippet or id scrolls or wraps inside */
      grid-template-columns: minmax(0, 1fr);
      gap: 0.75rem;
    }
    header {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      justify-content: space-between;
      gap: 0.5rem;
    }
    h2 {
      font-size: 1.05rem;
      margin: 0;
    }
    .status {
      font-size: 0.85rem;
      color: ${v('muted')};
    }
    .dot {
      display: inline-block;
      width: 0.55rem;
      height: 0.55rem;
      border-radius: 50%;
      margin-right: 0.3rem;
      background: ${v('muted')};
    }
    .dot[data-state='online'] {
      background: ${v('ok')};
    }
    .dot[data-state='offline'] {
      background: ${v('error')};
    }
  `

  declare relay: string
  declare mode: WidgetMode
  declare query: string
  declare package: string
  declare heading: string
  declare theme: WidgetTheme
  private readonly ctl = new NodeController(this)
  private announced = false
  private lastState = ''
  private errorTold = false
  /** Where the person is in this widget: its own history, never the host page's URL. */
  private router?: MemoryRouter

  constructor() {
    super()
    this.relay = SCRIPT_ORIGIN
    this.mode = 'search'
    this.query = ''
    this.package = ''
    this.heading = 'Packages'
    this.theme = 'light'
  }

  /** The page's marketplace node (contract §2), once it has started; `undefined` before. */
  get marketplace(): MarketplaceNode | undefined {
    return this.ctl.store.node?.status().state === 'starting' ? undefined : this.ctl.store.node
  }

  override connectedCallback(): void {
    super.connectedCallback()
    void ensureNode(this.relay)
  }

  /** The widget's router, made on first use: the attributes say where to start. */
  private routerOf(): MemoryRouter {
    this.router ??= new MemoryRouter(new URL('/', this.relay).href, this.startRoute())
    return this.router
  }

  /** A package's page (`package`), a search (`query`), or the newest packages. */
  private startRoute(): Route {
    const pkg = this.package !== '' ? parseRoute(`#/pkg/${this.package}`) : undefined
    if (pkg != null) return pkg
    if (this.query !== '') return { view: 'search', query: { text: this.query, tags: [], categories: [] } }
    return { view: 'home' }
  }

  override render(): unknown {
    const { node, error } = this.ctl.store
    const state = node?.status().state ?? 'starting'
    const mode: WidgetMode = this.mode === 'publish' || this.mode === 'both' ? this.mode : 'search'
    return html`<div class="widget" part="container">
      <header part="header">
        <h2 part="heading">${this.heading}</h2>
        <span class="status" part="status" role="status" aria-live="polite">
          <span class="dot" data-state=${error != null ? 'offline' : state}></span>${
            error != null
              ? `Failed: ${error}`
              : `${STATE_TEXT[state]}${node != null && state !== 'starting' ? ` · ${peersSentence(peerCounts(node.peers()))}` : ''}`
          }
        </span>
      </header>
      ${
        mode !== 'publish'
          ? html`<mp-search
              part="search"
              exportparts="search-form, input, button, result, details, link, snippet"
              .router=${this.routerOf()}
              .relay=${this.relay}
            ></mp-search>`
          : nothing
      }
      ${
        mode !== 'search'
          ? html`<mp-publish
              part="publish"
              exportparts="publish-form, button"
              .traceBase=${new URL('/', this.relay).href}
            ></mp-publish>`
          : nothing
      }
    </div>`
  }

  override updated(): void {
    const { error, errorName } = this.ctl.store
    if (error != null && !this.errorTold) {
      this.errorTold = true
      this.dispatchEvent(
        new CustomEvent('mp-error', {
          detail: { message: error, name: errorName ?? 'Error' },
          bubbles: true,
          composed: true
        })
      )
    }
    const node = this.marketplace
    const state = node?.status().state ?? ''
    if (node != null && !this.announced) {
      this.announced = true
      this.dispatchEvent(new CustomEvent('mp-ready', { detail: node, bubbles: true, composed: true }))
    }
    if (node != null && state !== this.lastState) {
      this.lastState = state
      this.dispatchEvent(
        new CustomEvent('mp-status', { detail: node.status(), bubbles: true, composed: true })
      )
    }
  }
}

// two copies of this script on one page (say, two versions) must not throw:
// the first definition wins and the second copy's widgets use it
if (customElements.get('p2p-marketplace') == null) customElements.define('p2p-marketplace', P2pMarketplace)
