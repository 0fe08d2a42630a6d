import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web'
import { fetchRuntimeConfig } from '../core/config.ts'
import { describeError } from '../core/errors.ts'
import { loadOrCreateIdentity } from '../core/identity.ts'
import { MarketplaceNode } from '../core/marketplace-node.ts'
import { createTracerProvider } from '../core/telemetry/provider.ts'
import { openBrowserStorage } from './browser-storage.ts'
import type { NodeStore } from './node-store.ts'

declare global {
  interface Window {
    /** The running node (contract §2). */
    p2pMarketplace?: MarketplaceNode
  }
}

declare const __APP_VERSION__: string

/**
 * Starts this tab's node. Loaded lazily: everything libp2p lives behind this
 * module. URL parameters: `?relay=<http origin>` bootstraps from another relay
 * than the page's; `?otlp=<url>` exports this tab's spans straight to another
 * collector instead of the relay's.
 */
export async function boot(store: NodeStore): Promise<void> {
  try {
    const params = new URLSearchParams(location.search)
    const { datastore, persistent } = await openBrowserStorage()
    const privateKey = await loadOrCreateIdentity(datastore)
    const config = await fetchRuntimeConfig(params.get('relay') ?? location.origin)
    const endpoint = params.get('otlp') ?? config.otlpTracesEndpoint
    // the web SDK: batch processor that flushes when the page is hidden, bounded queue
    const { provider, spanEvents } = createTracerProvider(
      peerIdFromPrivateKey(privateKey).toString(),
      {
        ...(endpoint != null ? { endpoint } : {}),
        serviceName: 'p2p-marketplace-web',
        serviceVersion: __APP_VERSION__
      },
      WebTracerProvider
    )
    const node = new MarketplaceNode({ config, datastore, privateKey, tracerProvider: provider, spanEvents })
    store.setNode(node, config, persistent)
    await node.start()
    window.p2pMarketplace = node
    window.dispatchEvent(new CustomEvent('p2p-marketplace:ready', { detail: node }))
    addEventListener('pagehide', () => {
      void provider.forceFlush().finally(() => node.stop())
    })
  } catch (err) {
    store.setError(describeError(err))
  }
}
