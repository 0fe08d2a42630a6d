/**
 * Reading OTLP/HTTP JSON (ExportTraceServiceRequest, proto3 JSON mapping:
 * lowerCamelCase keys, hex trace/span ids, integer enums, 64-bit integers as
 * strings or numbers) into flat span records the store can index.
 */

import type { AttrValue, StoredSpan } from '../../src/core/telemetry/collector-api.ts'

/** The body is not an OTLP/JSON traces request; the message says where. */
export class OtlpFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OtlpFormatError'
  }
}

const HEX32 = /^[0-9a-f]{32}$/
const HEX16 = /^[0-9a-f]{16}$/

interface AnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: string | number
  doubleValue?: number
  arrayValue?: { values?: AnyValue[] }
  kvlistValue?: { values?: KeyValue[] }
  bytesValue?: string
}
interface KeyValue {
  key: string
  value?: AnyValue
}

function value(v: AnyValue | undefined): AttrValue {
  if (v == null) return null
  if (v.stringValue !== undefined) return v.stringValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.arrayValue !== undefined)
    return (v.arrayValue.values ?? [])
      .map(value)
      .filter((x): x is string | number | boolean => x != null && typeof x !== 'object')
  if (v.kvlistValue !== undefined) return JSON.stringify(attributes(v.kvlistValue.values))
  if (v.bytesValue !== undefined) return v.bytesValue
  return null
}

function attributes(list: KeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {}
  for (const kv of list ?? []) {
    if (typeof kv?.key === 'string') out[kv.key] = value(kv.value)
  }
  return out
}

function nanos(v: unknown, where: string): string {
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v)).toString()
  if (typeof v === 'string' && /^\d+$/.test(v)) return v
  throw new OtlpFormatError(`${where} must be an integer (nanoseconds since the epoch)`)
}

/** Parses a request; throws `OtlpFormatError` with the path of the first problem. */
export function parseOtlpJson(body: unknown, receivedAt = Date.now()): StoredSpan[] {
  if (
    body == null ||
    typeof body !== 'object' ||
    !Array.isArray((body as { resourceSpans?: unknown }).resourceSpans)
  ) {
    throw new OtlpFormatError('body must be an ExportTraceServiceRequest: { "resourceSpans": [...] }')
  }
  const spans: StoredSpan[] = []
  const resourceSpans = (body as { resourceSpans: unknown[] }).resourceSpans
  resourceSpans.forEach((rs, i) => {
    const r = rs as { resource?: { attributes?: KeyValue[] }; scopeSpans?: unknown }
    const resource = attributes(r.resource?.attributes)
    if (r.scopeSpans != null && !Array.isArray(r.scopeSpans))
      throw new OtlpFormatError(`resourceSpans[${i}].scopeSpans must be an array`)
    ;((r.scopeSpans as unknown[] | undefined) ?? []).forEach((ss, j) => {
      const s = ss as { scope?: { name?: string }; spans?: unknown }
      if (s.spans != null && !Array.isArray(s.spans))
        throw new OtlpFormatError(`resourceSpans[${i}].scopeSpans[${j}].spans must be an array`)
      ;((s.spans as unknown[] | undefined) ?? []).forEach((raw, k) => {
        const where = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`
        const span = raw as Record<string, unknown>
        const traceId = typeof span.traceId === 'string' ? span.traceId.toLowerCase() : ''
        const spanId = typeof span.spanId === 'string' ? span.spanId.toLowerCase() : ''
        if (!HEX32.test(traceId)) throw new OtlpFormatError(`${where}.traceId must be 32 hex digits`)
        if (!HEX16.test(spanId)) throw new OtlpFormatError(`${where}.spanId must be 16 hex digits`)
        if (typeof span.name !== 'string') throw new OtlpFormatError(`${where}.name must be a string`)
        const parent =
          typeof span.parentSpanId === 'string' && span.parentSpanId !== ''
            ? span.parentSpanId.toLowerCase()
            : undefined
        if (parent != null && !HEX16.test(parent))
          throw new OtlpFormatError(`${where}.parentSpanId must be 16 hex digits`)
        const start = nanos(span.startTimeUnixNano, `${where}.startTimeUnixNano`)
        const end = nanos(span.endTimeUnixNano, `${where}.endTimeUnixNano`)
        const status = (span.status ?? {}) as { code?: number; message?: string }
        spans.push({
          traceId,
          spanId,
          ...(parent != null ? { parentSpanId: parent } : {}),
          name: span.name,
          kind: typeof span.kind === 'number' ? span.kind : 0,
          startTimeUnixNano: start,
          endTimeUnixNano: end,
          durationMs: Number(BigInt(end) - BigInt(start)) / 1e6,
          attributes: attributes(span.attributes as KeyValue[] | undefined),
          status: {
            code: typeof status.code === 'number' ? status.code : 0,
            ...(typeof status.message === 'string' && status.message !== ''
              ? { message: status.message }
              : {})
          },
          links: ((span.links as Array<{ traceId?: string; spanId?: string }> | undefined) ?? []).map(l => ({
            traceId: String(l.traceId ?? ''),
            spanId: String(l.spanId ?? '')
          })),
          events: (
            (span.events as
              Array<{ name?: string; timeUnixNano?: unknown; attributes?: KeyValue[] }> | undefined) ?? []
          ).map(e => ({
            name: String(e.name ?? ''),
            timeUnixNano: nanos(e.timeUnixNano ?? 0, `${where}.events`),
            attributes: attributes(e.attributes)
          })),
          resource,
          scope: s.scope?.name ?? '',
          receivedAt
        })
      })
    })
  })
  return spans
}
