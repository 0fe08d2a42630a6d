import { MarketplaceNode } from '../core/marketplace-node.ts'
import { describeError } from '../core/errors.ts'
import { openBrowserStorage } from './browser-storage.ts'
import type { NodeStore } from './node-store.ts'

declare global {
  interface Window {
    /** The running node (contract §2). */
    p2pMarketplace?: MarketplaceNode
  }
}

/**
 * Starts this tab's node. Loaded lazily: everything libp2p lives behind this
 * module. `?relay=<http origin>` bootstraps from another relay than the page's.
 */
export async function boot(store: NodeStore): Promise<void> {
  try {
    const params = new URLSearchParams(location.search)
    const configUrl = params.get('relay') ?? location.origin
    const { datastore, persistent } = await openBrowserStorage()
    const node = new MarketplaceNode({ configUrl, datastore })
    store.setNode(node, persistent)
    await node.start()
    window.p2pMarketplace = node
    window.dispatchEvent(new CustomEvent('p2p-marketplace:ready', { detail: node }))
    addEventListener('pagehide', () => {
      void node.stop()
    })
  } catch (err) {
    store.setError(describeError(err))
  }
}
