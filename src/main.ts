import './components/mp-connection.ts'
import './components/mp-peers.ts'
import './components/mp-publish.ts'
import './components/mp-search.ts'
import './components/mp-traces.ts'
import './components/mp-health.ts'
import { defaultRelayUrl } from './app/collector-client.ts'
import { nodeStore } from './app/node-store.ts'
import { otlpAllowed } from './app/otlp-consent.ts'

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
