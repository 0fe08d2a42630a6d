import { applyStoredTheme } from './app/theme-preference.ts'
import './components/mp-search.ts'
import './components/mp-publish.ts'
import './components/mp-identity.ts'
import './components/mp-connection.ts'
import './components/mp-peers.ts'
import './components/mp-network-graph.ts'
import './components/mp-traces.ts'
import './components/mp-health.ts'
import './components/mp-theme-toggle.ts'
import { defaultRelayUrl } from './app/collector-client.ts'
import { nodeStore } from './app/node-store.ts'
import { otlpAllowed } from './app/otlp-consent.ts'
import { HashRouter } from './app/router.ts'
import { SectionTabs } from './app/section-tabs.ts'
import type { MpSearch } from './components/mp-search.ts'

// the person's theme before anything draws (their choice; else the system's, which the CSS follows)
applyStoredTheme()

// where the person is lives in the URL: `#/search?q=…`, `#/pkg/<id>@<version>` (back and reload work)
const router = new HashRouter()
const search = document.querySelector<MpSearch>('mp-search')
if (search != null) {
  search.router = router
  search.relay = defaultRelayUrl()
}

// on a phone, one section at a time: a link to a search or a package shows Search, `#trace=` Traces
const tablist = document.querySelector<HTMLElement>('[role="tablist"]')
const main = document.querySelector<HTMLElement>('main')
if (tablist != null && main != null) {
  const tabs = new SectionTabs(tablist, main)
  const isTrace = (): boolean => location.hash.startsWith('#trace=')
  tabs.select(isTrace() ? 'traces' : 'search')
  router.addEventListener('change', () => tabs.select('search'))
  addEventListener('hashchange', () => {
    if (isTrace()) tabs.select('traces')
  })
}

// The shell above renders at once; libp2p arrives in its own chunk.
const asked = new URLSearchParams(location.search).get('otlp')
// spans go to a collector a link names only once the person said yes (the connection card asks)
const otlp = asked != null && otlpAllowed(asked) ? asked : undefined
if (asked != null && otlp == null) nodeStore.askOtlp(asked)
import('./app/boot.ts')
  .then(
    async ({ boot }) =>
      await boot(nodeStore, { relay: defaultRelayUrl(), global: true, ...(otlp != null ? { otlp } : {}) })
  )
  .catch((err: unknown) => nodeStore.setError(`could not load the node: ${String(err)}`))
