import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web'
import { fetchRuntimeConfig } from '../core/config.ts'
import { InsecureRelayError, describeError } from '../core/errors.ts'
import { IDENTITY_KEY, loadOrCreateIdentity } from '../core/identity.ts'
import { exportIdentity } from '../core/identity-file.ts'
import { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'
import { createTracerProvider } from '../otel/tracer-provider.ts'
import { openBrowserStorage } from './browser-storage.ts'
import type { NodeStore } from './node-store.ts'

declare global {
  interface Window {
    /** The running node (contract §2). */
    p2pMarketplace?: MarketplaceNode
  }
}

declare const __APP_VERSION__: string

export interface BootOptions {
  /** The relay's HTTP origin (or its `/config.json` URL). */
  relay: string
  /** Export spans here instead of the relay's collector. */
  otlp?: string
  /** Expose the node as `window.p2pMarketplace` (the app does; the widget does not touch the host's globals). */
  global: boolean
}

/**
 * Starts this page's node. Loaded lazily: everything libp2p lives behind this
 * module. The app passes `?relay=<http origin>` (bootstrap from another relay
 * than the page's) and `?otlp=<url>` (export this tab's spans straight to
 * another collector) from its URL; the widget passes its attributes.
 */
export async function boot(store: NodeStore, options: BootOptions): Promise<void> {
  try {
    // the page's own relay uses the default profile; any other relay one of its own
    const relayOrigin = originOf(options.relay)
    // the runtime config comes over the network while storage opens and the identity loads
    const configFetch = fetchRuntimeConfig(options.relay)
    const { datastore, blockstore, persistent } = await openBrowserStorage(
      relayOrigin === location.origin ? undefined : relayOrigin
    ).catch(async (err: unknown) => {
      // one failure is reported; the other's rejection is not left unhandled
      await configFetch.catch(() => undefined)
      throw err
    })
    const [privateKey, config] = await Promise.all([loadOrCreateIdentity(datastore), configFetch])
    const endpoint = options.otlp ?? config.otlpTracesEndpoint
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
    const node = new MarketplaceNode({
      config,
      datastore,
      privateKey,
      // a second tab of this browser runs on a temporary key: it publishes only when told so
      temporaryKey: !persistent,
      tracerProvider: provider,
      spanEvents,
      ...(blockstore != null ? { content: { blockstore } } : {})
    })
    store.exportIdentity = async passphrase => await exportIdentity(privateKey, passphrase)
    if (persistent)
      store.saveIdentity = async key => {
        // the next start takes it: this page's node keeps the old key until it reloads
        await datastore.put(IDENTITY_KEY, privateKeyToProtobuf(key))
        await provider.forceFlush()
        location.reload()
      }
    store.setNode(node, config, persistent)
    await node.start()
    if (options.global) {
      window.p2pMarketplace = node
      window.dispatchEvent(new CustomEvent('p2p-marketplace:ready', { detail: node }))
    }
    addEventListener('pagehide', () => {
      void provider.forceFlush().finally(() => node.stop())
    })
  } catch (err) {
    // its message is written for the person running the relay; the class name adds nothing
    store.setError(
      err instanceof InsecureRelayError ? err.message : describeError(err),
      err instanceof Error ? err.name : 'Error'
    )
  }
}

/** The origin of a relay URL; the URL itself when it is none (fetching the config says why). */
function originOf(url: string): string {
  try {
    return new URL(url, location.href).origin
  } catch {
    return url
  }
}
