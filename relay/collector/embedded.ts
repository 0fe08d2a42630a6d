import { join } from 'node:path'
import { isLoopbackHost } from '../config/addresses.ts'
import { Collector } from './collector.ts'
import { UpstreamForwarder } from './forwarder.ts'
import { SpanStore } from './span-store.ts'
import type { RelayConfig } from '../config.ts'
import type { PublicOrigins } from '../public-origins.ts'

/** The relay's embedded collector and what it is made of. */
export interface EmbeddedCollector {
  collector: Collector
  /** The spans it keeps (`DATA_DIR/traces.ndjson`). */
  store: SpanStore
  /** Where stored spans go on to, when `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` is set. */
  forwarder?: UpstreamForwarder
}

/**
 * The collector every browser exports to: it keeps spans for the UI and forwards them upstream
 * when one is configured. `origins` are the relay's public origins, known once its HTTP server is
 * bound (PORT 0 picks a port); no request arrives before.
 */
export async function createEmbeddedCollector(
  config: RelayConfig,
  origins: () => PublicOrigins | undefined
): Promise<EmbeddedCollector> {
  const store = new SpanStore({ file: join(config.dataDir, 'traces.ndjson') })
  await store.load()
  const forwarder =
    config.otlpTracesEndpoint != null
      ? new UpstreamForwarder({ url: config.otlpTracesEndpoint, headers: config.otlpHeaders })
      : undefined
  const collector = new Collector({
    store,
    forwarder,
    allowedOrigins: config.embedOrigins,
    isPublicOrigin: origin => origins()?.has(origin) ?? false,
    namesPublicOrigin: req => origins()?.named(req) != null,
    // reachable from other machines: tools exporting without a browser Origin need the token
    public: config.publicOrigins != null || !isLoopbackHost(config.host),
    ...(config.collectorToken != null ? { token: config.collectorToken } : {})
  })
  return { collector, store, ...(forwarder != null ? { forwarder } : {}) }
}
