/**
 * Where the person is: the newest packages (`home`), a search, or a package's page. The app keeps
 * it in its URL's hash (`#/search?q=pad&tags=string`, `#/pkg/acme/left-pad@1.0.0`), so a view can
 * be shared, reloaded and gone back to; the widget keeps it in memory (a host page's URL is the
 * host's), with links that open the same view in the relay's app.
 */
export type Route =
  { view: 'home' } | { view: 'search'; query: RouteQuery } | { view: 'pkg'; id: string; version?: string }

/** A search as a URL carries it. */
export interface RouteQuery {
  text: string
  tags: string[]
  categories: string[]
}

/** What a URL may carry: generous next to the search protocol's own limits, which say what is wrong. */
const URL_LIMITS = { text: 1024, items: 20, itemLength: 128, hash: 4096 } as const

/**
 * A package id, as `PACKAGE_ID` of `src/core/package/schema.ts` (not imported: that module brings
 * zod and semver into the first paint).
 */
const PACKAGE_ID = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/
/** A version as URLs carry it; the node checks it is semantic. */
const VERSION = /^[0-9A-Za-z.+-]{1,64}$/

const items = (value: string | null): string[] =>
  (value ?? '')
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== '' && s.length <= URL_LIMITS.itemLength)
    .slice(0, URL_LIMITS.items)

/** The route a URL hash names; `undefined` for a hash that is not a route (`#trace=…`, `#top`). */
export function parseRoute(hash: string): Route | undefined {
  if (hash === '' || hash === '#' || hash === '#/') return { view: 'home' }
  if (!hash.startsWith('#/') || hash.length > URL_LIMITS.hash) return undefined
  const [path = '', search = ''] = hash.slice(2).split('?', 2)
  if (path === 'search') {
    const params = new URLSearchParams(search)
    return {
      view: 'search',
      query: {
        text: (params.get('q') ?? '').slice(0, URL_LIMITS.text),
        tags: items(params.get('tags')),
        categories: items(params.get('categories'))
      }
    }
  }
  if (path.startsWith('pkg/')) {
    let ref: string
    try {
      ref = decodeURIComponent(path.slice(4))
    } catch {
      return undefined // a malformed escape: not a page of ours
    }
    const at = ref.lastIndexOf('@')
    const id = at > 0 ? ref.slice(0, at) : ref
    const version = at > 0 ? ref.slice(at + 1) : undefined
    if (id.length > 128 || !PACKAGE_ID.test(id)) return undefined
    if (version != null && !VERSION.test(version)) return undefined
    return version != null ? { view: 'pkg', id, version } : { view: 'pkg', id }
  }
  return undefined
}

/** The hash of `route`: `#/`, `#/search?q=…&tags=…&categories=…`, `#/pkg/<id>@<version>`. */
export function routeHash(route: Route): string {
  if (route.view === 'home') return '#/'
  if (route.view === 'pkg') return `#/pkg/${route.id}${route.version != null ? `@${route.version}` : ''}`
  const params = new URLSearchParams({ q: route.query.text })
  if (route.query.tags.length > 0) params.set('tags', route.query.tags.join(','))
  if (route.query.categories.length > 0) params.set('categories', route.query.categories.join(','))
  return `#/search?${params.toString()}`
}

/** Where the person is, and how they move: the app's {@link HashRouter}, the widget's {@link MemoryRouter}. */
export interface Router extends EventTarget {
  /** The current route; a `change` event says it moved. */
  readonly route: Route
  /** Goes to `route` (a new history entry unless `replace`); nothing happens when already there. */
  navigate(route: Route, options?: { replace?: boolean }): void
  /** Back to where the person was before; home when there is no such place. */
  back(): void
  /** Whether {@link back} returns to an earlier view of ours. */
  readonly canGoBack: boolean
  /** A URL that opens `route` in the app: the link people copy and share. */
  shareUrl(route: Route): string
}

/** The app's router: the route lives in `location.hash`; back, forward and reload work. */
export class HashRouter extends EventTarget implements Router {
  route: Route
  /** How many of our views are behind the current history entry. */
  private depth = depthOf(history.state)

  constructor() {
    super()
    this.route = parseRoute(location.hash) ?? { view: 'home' }
    // the entry the page opened at is the first of ours (a reload keeps the depth it had)
    if (stateOf(history.state).mpDepth == null)
      history.replaceState({ ...stateOf(history.state), mpDepth: 0 }, '')
    addEventListener('popstate', this.sync)
    addEventListener('hashchange', this.sync)
  }

  get canGoBack(): boolean {
    return this.depth > 0
  }

  navigate(route: Route, options: { replace?: boolean } = {}): void {
    const hash = routeHash(route)
    if (hash === location.hash) return
    if (options.replace === true)
      history.replaceState({ ...stateOf(history.state), mpDepth: this.depth }, '', hash)
    else history.pushState({ mpDepth: this.depth + 1 }, '', hash)
    this.sync()
  }

  back(): void {
    if (this.canGoBack) history.back()
    else this.navigate({ view: 'home' }, { replace: true })
  }

  shareUrl(route: Route): string {
    return new URL(routeHash(route), location.href).href
  }

  /** Takes the route from the URL; a hash that names no route (`#trace=…`) leaves the view as it is. */
  private readonly sync = (): void => {
    // an entry a plain link or the address bar made is one more step of ours
    if (stateOf(history.state).mpDepth == null)
      history.replaceState({ ...stateOf(history.state), mpDepth: this.depth + 1 }, '')
    this.depth = depthOf(history.state)
    const route = parseRoute(location.hash)
    if (route == null || routeHash(route) === routeHash(this.route)) return
    this.route = route
    this.dispatchEvent(new Event('change'))
  }
}

/** The widget's router: a history of its own, never the host page's URL. */
export class MemoryRouter extends EventTarget implements Router {
  private readonly stack: Route[]
  private readonly appUrl: string

  /** `appUrl`: the relay's app, where shared links open. */
  constructor(appUrl: string, initial: Route = { view: 'home' }) {
    super()
    this.appUrl = appUrl
    this.stack = [initial]
  }

  get route(): Route {
    return this.stack[this.stack.length - 1] ?? { view: 'home' }
  }

  get canGoBack(): boolean {
    return this.stack.length > 1
  }

  navigate(route: Route, options: { replace?: boolean } = {}): void {
    if (routeHash(route) === routeHash(this.route)) return
    if (options.replace === true) this.stack.pop()
    this.stack.push(route)
    // a long session keeps the last 50 views, as a browser's back list would
    if (this.stack.length > 50) this.stack.shift()
    this.dispatchEvent(new Event('change'))
  }

  back(): void {
    if (!this.canGoBack) return this.navigate({ view: 'home' }, { replace: true })
    this.stack.pop()
    this.dispatchEvent(new Event('change'))
  }

  shareUrl(route: Route): string {
    return new URL(routeHash(route), this.appUrl).href
  }
}

function stateOf(state: unknown): Record<string, unknown> {
  return typeof state === 'object' && state != null ? (state as Record<string, unknown>) : {}
}

/** How many views of ours are behind this history entry (0 for the first, or one of another page's). */
function depthOf(state: unknown): number {
  const depth = stateOf(state).mpDepth
  return typeof depth === 'number' ? depth : 0
}
