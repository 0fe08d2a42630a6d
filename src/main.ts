import './components/mp-connection.ts'
import './components/mp-peers.ts'
import './components/mp-publish.ts'
import './components/mp-search.ts'
import './components/mp-traces.ts'
import './components/mp-health.ts'
import { nodeStore } from './app/node-store.ts'

// The shell above renders at once; libp2p arrives in its own chunk.
import('./app/boot.ts')
  .then(async ({ boot }) => await boot(nodeStore))
  .catch((err: unknown) => nodeStore.setError(`could not load the node: ${String(err)}`))
