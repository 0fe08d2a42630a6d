import { MemoryDatastore } from 'datastore-core'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fetchRuntimeConfig } from '../core/config.ts'
import { InvalidConfigError } from '../core/errors.ts'
import { loadOrCreateIdentity } from '../core/identity.ts'
import { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'
import { createTracerProvider } from './tracer-provider.ts'
import type { SdkTracerProvider, TracingInit } from './tracer-provider.ts'
import type { MarketplaceNodeInit } from '../core/index.ts'

/**
 * A marketplace node for Node.js callers that want its spans exported: the node itself takes an
 * API `TracerProvider` only; this assembles the SDK for it (resource `service.instance.id` = the
 * node's peer id, so the identity is loaded first) and shuts it down when the node stops.
 */
class TracedMarketplaceNode extends MarketplaceNode {
  private readonly provider: SdkTracerProvider

  constructor(init: MarketplaceNodeInit, provider: SdkTracerProvider) {
    super(init)
    this.provider = provider
  }

  override async stop(): Promise<void> {
    await super.stop()
    // the node's last spans (the bootstrap span of a node stopped early) are flushed here
    await this.provider.shutdown()
  }
}

/**
 * Creates and starts a node whose spans go to `tracing.endpoint` (default: the runtime config's
 * `otlpTracesEndpoint`) and/or `tracing.exporter`, as the web app's boot does for a tab.
 */
export async function createTracedMarketplaceNode(
  init: Omit<MarketplaceNodeInit, 'tracerProvider' | 'spanEvents'>,
  tracing: TracingInit = {}
): Promise<MarketplaceNode> {
  if (init.config == null && init.configUrl == null) {
    throw new InvalidConfigError('createTracedMarketplaceNode: pass either `config` or `configUrl`')
  }
  const datastore = init.datastore ?? new MemoryDatastore()
  const privateKey = init.privateKey ?? (await loadOrCreateIdentity(datastore))
  const config = init.config ?? (await fetchRuntimeConfig(init.configUrl ?? ''))
  const endpoint = tracing.endpoint ?? config.otlpTracesEndpoint
  const { provider, spanEvents } = createTracerProvider(peerIdFromPrivateKey(privateKey).toString(), {
    ...tracing,
    ...(endpoint != null ? { endpoint } : {})
  })
  const node = new TracedMarketplaceNode(
    { ...init, config, datastore, privateKey, tracerProvider: provider, spanEvents },
    provider
  )
  try {
    await node.start()
  } catch (err) {
    await node.stop()
    throw err
  }
  return node
}
