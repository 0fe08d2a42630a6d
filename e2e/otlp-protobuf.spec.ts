import { ExportResultCode } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { context, trace } from '@opentelemetry/api'
import { expect, test } from './fixtures.ts'
import type { ExportResult } from '@opentelemetry/core'

type Compression = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>['compression']

/**
 * A marketplace's own backend exports its spans with the official OpenTelemetry protobuf exporter
 * (OTLP/HTTP's default encoding) to the relay's collector, and a person sees them in the trace
 * panel (issue 18).
 */
test("spans from the official protobuf exporter show in the app's trace panel", async ({ peer, relay }) => {
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop-backend' }),
    spanProcessors: [new SimpleSpanProcessor(memory)]
  })
  const tracer = provider.getTracer('shop')
  const checkout = tracer.startSpan('checkout', { attributes: { operation: 'checkout', cart_items: 3 } })
  tracer.startSpan('reserve_stock', {}, trace.setSpan(context.active(), checkout)).end()
  checkout.end()
  const exporter = new OTLPTraceExporter({
    url: `${relay.url}/v1/traces`,
    compression: 'gzip' as Compression
  })
  const result = await new Promise<ExportResult>(resolve =>
    exporter.export(memory.getFinishedSpans(), resolve)
  )
  expect(result.code).toBe(ExportResultCode.SUCCESS)
  await exporter.shutdown()

  const tab = await peer()
  const traceId = checkout.spanContext().traceId
  await tab.page.goto(`${relay.url}/#trace=${traceId}`)
  const waterfall = tab.page.getByRole('region', { name: 'Trace waterfall' })
  for (const name of ['checkout', 'reserve_stock'])
    await expect(waterfall.getByRole('button', { name: `Span ${name}`, exact: true })).toBeVisible({
      timeout: 20_000
    })
})
