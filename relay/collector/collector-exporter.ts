import { ExportResultCode } from '@opentelemetry/core'
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer'
import type { Collector } from './collector.ts'
import type { ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'

/**
 * The relay's own spans go through the same path as the browsers': encoded
 * as OTLP/JSON, stored by the embedded collector and forwarded upstream.
 */
export class CollectorExporter implements SpanExporter {
  private readonly collector: Collector

  constructor(collector: Collector) {
    this.collector = collector
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      const raw = JsonTraceSerializer.serializeRequest(spans)
      if (raw != null) this.collector.ingest(JSON.parse(new TextDecoder().decode(raw)), raw)
      done({ code: ExportResultCode.SUCCESS })
    } catch (err) {
      done({ code: ExportResultCode.FAILED, error: err as Error })
    }
  }

  async shutdown(): Promise<void> {}
}
