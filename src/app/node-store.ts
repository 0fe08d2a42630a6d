import type { PackageEvent } from '../core/catalog/catalog.ts'
import type { RuntimeConfig } from '../core/config.ts'
import type { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'
import type { PrivateKey } from '@libp2p/interface'

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
  /** The class name of that error (`InvalidConfigError`, …), for `mp-error`. */
  errorName?: string
  /**
   * How each package version that arrived while this page was open got here (`id@version` →
   * source and peer): what the UI says of its provenance. Bounded: the oldest go first.
   */
  readonly arrivals = new Map<string, Omit<PackageEvent, 'record'>>()
  /** Whether the identity is persisted (false when another tab of this browser owns it). */
  persistentIdentity = true
  /** On a temporary key, the person chose to publish with it anyway. */
  temporaryKeyAccepted = false
  /** Replaces this browser's saved identity and reloads (set by boot in the tab that owns it). */
  saveIdentity?: (key: PrivateKey) => Promise<void>
  /** This tab's key as an identity file's text, encrypted with a passphrase (set by boot). */
  exportIdentity?: (passphrase: string) => Promise<string>
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
    node.addEventListener('package', evt => {
      const { record, source, from } = evt.detail
      this.arrivals.set(`${record.id}@${record.version}`, from != null ? { source, from } : { source })
      if (this.arrivals.size > MAX_ARRIVALS) this.arrivals.delete(this.arrivals.keys().next().value ?? '')
      this.changed()
    })
    this.changed()
  }

  /** The person chose to publish with this tab's temporary key. */
  acceptTemporaryKey(): void {
    this.temporaryKeyAccepted = true
    this.changed()
  }

  setError(error: string, name = 'Error'): void {
    this.error = error
    this.errorName = name
    this.changed()
  }

  changed(): void {
    this.dispatchEvent(new Event('change'))
  }
}

/** Arrivals remembered (a catalog holds at most 50 000 records; the newest matter most). */
const MAX_ARRIVALS = 10_000

export const nodeStore = new NodeStore()
