import type { AttrValue, StoredSpan } from './collector-api.ts'

/** An attribute value in the OTLP/JSON mapping (`AnyValue`). */
type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }

function anyValue(value: Exclude<AttrValue, null>): AnyValue {
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } }
  if (typeof value === 'string') return { stringValue: value }
  if (typeof value === 'boolean') return { boolValue: value }
  return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value }
}

/** `key: value` pairs as OTLP `KeyValue`s; a null (a value the collector could not keep) is left out. */
function keyValues(attributes: Record<string, AttrValue>): Array<{ key: string; value: AnyValue }> {
  return Object.entries(attributes).flatMap(([key, value]) =>
    value == null ? [] : [{ key, value: anyValue(value) }]
  )
}

/**
 * Spans as the collector keeps them, back in the OTLP/HTTP JSON form of an
 * `ExportTraceServiceRequest` (hex ids, integer enums, 64-bit times as strings),
 * grouped by resource and instrumentation scope: what any OTLP receiver (or
 * `POST /v1/traces` of another relay) accepts.
 */
export function toOtlpJson(spans: readonly StoredSpan[]): { resourceSpans: unknown[] } {
  const resources = new Map<
    string,
    { resource: Record<string, AttrValue>; scopes: Map<string, StoredSpan[]> }
  >()
  for (const span of spans) {
    const key = JSON.stringify(span.resource)
    const entry = resources.get(key) ?? { resource: span.resource, scopes: new Map<string, StoredSpan[]>() }
    resources.set(key, entry)
    entry.scopes.set(span.scope, [...(entry.scopes.get(span.scope) ?? []), span])
  }
  return {
    resourceSpans: [...resources.values()].map(({ resource, scopes }) => ({
      resource: { attributes: keyValues(resource) },
      scopeSpans: [...scopes].map(([scope, members]) => ({
        scope: { name: scope },
        spans: members.map(span => ({
          traceId: span.traceId,
          spanId: span.spanId,
          ...(span.parentSpanId != null ? { parentSpanId: span.parentSpanId } : {}),
          name: span.name,
          kind: span.kind,
          startTimeUnixNano: span.startTimeUnixNano,
          endTimeUnixNano: span.endTimeUnixNano,
          attributes: keyValues(span.attributes),
          events: span.events.map(e => ({
            timeUnixNano: e.timeUnixNano,
            name: e.name,
            attributes: keyValues(e.attributes)
          })),
          links: span.links.map(l => ({ traceId: l.traceId, spanId: l.spanId })),
          status: {
            code: span.status.code,
            ...(span.status.message != null ? { message: span.status.message } : {})
          }
        }))
      }))
    }))
  }
}
