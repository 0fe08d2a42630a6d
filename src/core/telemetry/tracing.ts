import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context as otelContext,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace
} from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { ATTR, TRACER_NAME } from './schema.ts'
import { describeError } from '../errors.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api'

/**
 * Options of every async step of an operation, public or internal: its cancellation, and the
 * trace context it belongs to (passed explicitly: in a browser the active context does not
 * survive an `await`).
 */
export interface OperationOptions extends AbortOptions {
  /** The span this step runs under. @default the active context: a new trace, in practice */
  parent?: Context
}

/** The global tracer; without an SDK registered its spans are no-ops (and cost next to nothing). */
export function globalTracer(): Tracer {
  return trace.getTracer(TRACER_NAME)
}

/**
 * Runs `fn` inside a new span that is a child of `parent` (passed explicitly:
 * in the browser the active context does not survive `await`). The span ends
 * when `fn` settles; a thrown error is recorded as the `error` attribute and
 * the span status, then rethrown.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  parent: Context | undefined,
  fn: (span: Span, ctx: Context) => Promise<T>
): Promise<T> {
  const base = parent ?? otelContext.active()
  const span = tracer.startSpan(name, { attributes }, base)
  const ctx = trace.setSpan(base, span)
  try {
    return await fn(span, ctx)
  } catch (err) {
    failSpan(span, err)
    throw err
  } finally {
    span.end()
  }
}

/** Marks a span failed with the spec's `error` attribute and an error status. */
export function failSpan(span: Span, err: unknown): void {
  const message = describeError(err)
  span.setAttribute(ATTR.error, message)
  span.setStatus({ code: SpanStatusCode.ERROR, message })
}

/**
 * W3C trace context, used directly rather than through the global propagator:
 * nodes do not register a global SDK (several share one process in tests).
 */
const w3c = new W3CTraceContextPropagator()

/** The W3C `traceparent` of a context, to carry inside protocol messages. */
export function traceparentOf(ctx: Context): string | undefined {
  const carrier: Record<string, string> = {}
  w3c.inject(ctx, carrier, defaultTextMapSetter)
  return carrier.traceparent
}

/** The context a received `traceparent` describes (the remote span becomes our parent). */
export function contextFrom(traceparent: string | undefined): Context {
  if (traceparent == null || typeof traceparent !== 'string') return ROOT_CONTEXT
  return w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter)
}

/** Milliseconds since `start` (a `performance.now()` reading), rounded to 0.1 ms. */
export function elapsedMs(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10
}
