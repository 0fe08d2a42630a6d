import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor
} from '@opentelemetry/sdk-trace-base'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import type { Context, TracerProvider } from '@opentelemetry/api'
import type { SpanSource } from '../core/index.ts'
import type {
  ReadableSpan,
  Span,
  SpanExporter,
  SpanProcessor,
  TracerConfig
} from '@opentelemetry/sdk-trace-base'

/** `service.instance.id` (incubating semantic convention): the node's peer id. */
export const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id'

/** How a node traces. */
export interface TracingInit {
  /** OTLP/HTTP traces URL (e.g. the relay's `/v1/traces`); spans are batched and posted there. */
  endpoint?: string
  /** Headers for `endpoint` (an API key). */
  headers?: Record<string, string>
  /** An exporter of your own (tests use an in-memory one); exported span by span unless `batch`. */
  exporter?: SpanExporter
  /** Batch what goes to `exporter` (the relay's own spans). @default false */
  batch?: boolean
  /** @default `resourceAttributes['service.name']`, else 'p2p-marketplace-node' */
  serviceName?: string
  serviceVersion?: string
  /**
   * More resource attributes (`OTEL_RESOURCE_ATTRIBUTES`, parsed by the caller): `serviceName`
   * and `serviceVersion` win over theirs; `service.instance.id` is always the peer id.
   */
  resourceAttributes?: Record<string, string>
  /** `OTEL_SDK_DISABLED`: record no span (they are all non-recording), export nothing. @default false */
  disabled?: boolean
  /** Spans kept while the collector is unreachable; beyond it new spans are dropped. @default 2048 */
  maxQueueSize?: number
}

/**
 * Publishes every ended span as a `span` event: given to a node as its `spanEvents`, the node
 * re-dispatches them as its own `span` events. Never throws into the SDK.
 */
export class SpanEventProcessor extends EventTarget implements SpanProcessor, SpanSource {
  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    try {
      this.dispatchEvent(new CustomEvent('span', { detail: span }))
    } catch {
      // a listener's failure must not reach the tracer
    }
  }

  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** What the node needs of an SDK tracer provider (Basic or Web). */
export interface SdkTracerProvider extends TracerProvider {
  forceFlush: () => Promise<void>
  shutdown: () => Promise<void>
}

export interface TracerProviderHandle {
  provider: SdkTracerProvider
  spanEvents: SpanEventProcessor
}

/**
 * Assembles the SDK for one node: resource (`service.name`, `service.version`,
 * `service.instance.id` = peer id, and `resourceAttributes`), a bounded batch
 * processor posting OTLP/JSON to `endpoint` and/or an exporter of the caller's,
 * and the span-event processor; when `disabled`, a provider that records nothing.
 * `Provider` lets the browser use `WebTracerProvider`.
 */
export function createTracerProvider(
  peerId: string,
  init: TracingInit,
  Provider: new (config: TracerConfig) => SdkTracerProvider = BasicTracerProvider
): TracerProviderHandle {
  const spanEvents = new SpanEventProcessor()
  const resource = resourceFromAttributes({
    ...init.resourceAttributes,
    [ATTR_SERVICE_NAME]:
      init.serviceName ?? init.resourceAttributes?.[ATTR_SERVICE_NAME] ?? 'p2p-marketplace-node',
    [ATTR_SERVICE_VERSION]: init.serviceVersion ?? init.resourceAttributes?.[ATTR_SERVICE_VERSION] ?? '0.0.0',
    [ATTR_SERVICE_INSTANCE_ID]: peerId
  })
  if (init.disabled === true) {
    return { provider: new Provider({ resource, sampler: new AlwaysOffSampler() }), spanEvents }
  }
  const processors: SpanProcessor[] = []
  if (init.endpoint != null) {
    const exporter = new OTLPTraceExporter({
      url: init.endpoint,
      headers: init.headers ?? {},
      timeoutMillis: 10_000
    })
    processors.push(
      new BatchSpanProcessor(exporter, {
        maxQueueSize: init.maxQueueSize ?? 2048,
        maxExportBatchSize: 256,
        scheduledDelayMillis: 500,
        exportTimeoutMillis: 10_000
      })
    )
  }
  if (init.exporter != null) {
    processors.push(
      init.batch === true
        ? new BatchSpanProcessor(init.exporter, {
            maxQueueSize: init.maxQueueSize ?? 2048,
            scheduledDelayMillis: 200
          })
        : new SimpleSpanProcessor(init.exporter)
    )
  }
  processors.push(spanEvents)
  const provider = new Provider({ resource, spanProcessors: processors })
  return { provider, spanEvents }
}
