/**
 * `p2p-marketplace/otel`: the OpenTelemetry SDK glue of `src/otel`, one import for Node callers and
 * apps that assemble their own tracing (the node itself takes only an API `TracerProvider`).
 */
export * from '../../../src/otel/tracer-provider.ts'
export * from '../../../src/otel/traced-node.ts'
