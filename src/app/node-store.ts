import type { RuntimeConfig } from '../core/config.ts'
import type { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'

/**
 * The one place the UI learns about the node: components subscribe here and
 * never import libp2p, so the first paint does not wait for it.
 */
export class NodeStore extends EventTarget {
  node?: MarketplaceNode
  /** The relay's runtime configuration, once fetched. */
  config?: RuntimeConfig
  /** A fatal start-up error (bad runtime config, storage refused, …). */
  error?: string
  /** Whether the identity is persisted (false when another tab of this browser owns it). */
  persistentIdentity = true
  /** A collector a link (`?otlp=`) asks to send spans to, until the person answers. */
  otlpRequest?: string

  askOtlp(url: string): void {
    this.otlpRequest = url
    this.changed()
  }

  /** The person declined: spans stay with the relay's collector, and the link's parameter goes. */
  declineOtlp(): void {
    delete this.otlpRequest
    const url = new URL(location.href)
    url.searchParams.delete('otlp')
    history.replaceState(history.state, '', url)
    this.changed()
  }

  setNode(node: MarketplaceNode, config: RuntimeConfig, persistentIdentity: boolean): void {
    this.node = node
    this.config = config
    this.persistentIdentity = persistentIdentity
    node.addEventListener('status', () => this.changed())
    node.addEventListener('peer', () => this.changed())
    node.addEventListener('package', () => this.changed())
    this.changed()
  }

  setError(error: string): void {
    this.error = error
    this.changed()
  }

  changed(): void {
    this.dispatchEvent(new Event('change'))
  }
}

export const nodeStore = new NodeStore()
