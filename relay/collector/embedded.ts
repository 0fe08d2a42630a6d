import { join } from 'node:path'
import { isLoopbackHost } from '../config/addresses.ts'
import { CollectorExporter } from './collector-exporter.ts'
import { Collector } from './collector.ts'
import { UpstreamForwarder } from './forwarder.ts'
import { SignalProxy } from './signal-proxy.ts'
import { SpanStore } from './span-store.ts'
import type { RelayConfig } from '../config.ts'
import type { PublicOrigins } from '../public-origins.ts'
import type { TracingInit } from '../../src/otel/tracer-provider.ts'

/** The relay's embedded collector and what it is made of. */
export interface EmbeddedCollector {
  collector: Collector
  /** The spans it keeps (`DATA_DIR/traces.ndjson`). */
  store: SpanStore
  /**
   * Where stored spans go on to, when `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` is set (and
   * `OTEL_SDK_DISABLED` is not).
   */
  forwarder?: UpstreamForwarder
}

/**
 * The collector every browser exports to: it keeps spans for the UI and forwards them upstream
 * when one is configured, as the OTLP exporter settings say (protocol, compression, timeout,
 * headers); metrics and logs go to the upstream's `/v1/metrics` and `/v1/logs`. With
 * `OTEL_SDK_DISABLED` nothing goes upstream, and the collector works as without an upstream.
 * `origins` are the relay's public origins, known once its HTTP server is bound (PORT 0 picks a
 * port); no request arrives before.
 */
export async function createEmbeddedCollector(
  config: RelayConfig,
  origins: () => PublicOrigins | undefined
): Promise<EmbeddedCollector> {
  const store = new SpanStore({ file: join(config.dataDir, 'traces.ndjson') })
  await store.load()
  const upstream = config.sdkDisabled !== true
  const forwarder =
    upstream && config.otlpTracesEndpoint != null
      ? new UpstreamForwarder({
          url: config.otlpTracesEndpoint,
          headers: config.otlpHeaders,
          ...(config.otlpProtocol != null ? { protocol: config.otlpProtocol } : {}),
          ...(config.otlpCompression != null ? { compression: config.otlpCompression } : {}),
          ...(config.otlpTimeoutMs != null ? { timeoutMs: config.otlpTimeoutMs } : {})
        })
      : undefined
  const signals = upstream && config.otlpSignals != null ? new SignalProxy(config.otlpSignals) : undefined
  const collector = new Collector({
    store,
    forwarder,
    signals,
    allowedOrigins: config.embedOrigins,
    isPublicOrigin: origin => origins()?.has(origin) ?? false,
    namesPublicOrigin: req => origins()?.named(req) != null,
    // reachable from other machines: tools exporting without a browser Origin need the token
    public: config.publicOrigins != null || !isLoopbackHost(config.host),
    ...(config.collectorToken != null ? { token: config.collectorToken } : {})
  })
  return { collector, store, ...(forwarder != null ? { forwarder } : {}) }
}

/**
 * How the relay traces itself: its spans go, batched, into its own collector (and so upstream
 * with the browsers'), under a resource with `OTEL_RESOURCE_ATTRIBUTES` merged in; with
 * `OTEL_SDK_DISABLED` it records none.
 */
export function relayTracing(config: RelayConfig, collector: Collector, version: string): TracingInit {
  return {
    exporter: new CollectorExporter(collector),
    batch: true,
    serviceName: config.serviceName,
    serviceVersion: version,
    ...(config.resourceAttributes != null ? { resourceAttributes: config.resourceAttributes } : {}),
    ...(config.sdkDisabled === true ? { disabled: true } : {})
  }
}
