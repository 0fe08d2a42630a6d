import './components/mp-connection.ts'
import './components/mp-peers.ts'
import './components/mp-publish.ts'
import './components/mp-search.ts'
import './components/mp-traces.ts'
import './components/mp-health.ts'
import { defaultRelayUrl } from './app/collector-client.ts'
import { nodeStore } from './app/node-store.ts'

// The shell above renders at once; libp2p arrives in its own chunk.
const otlp = new URLSearchParams(location.search).get('otlp')
import('./app/boot.ts')
  .then(
    async ({ boot }) =>
      await boot(nodeStore, { relay: defaultRelayUrl(), global: true, ...(otlp != null ? { otlp } : {}) })
  )
  .catch((err: unknown) => nodeStore.setError(`could not load the node: ${String(err)}`))
