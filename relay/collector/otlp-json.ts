/**
 * Reading OTLP/HTTP JSON (ExportTraceServiceRequest, proto3 JSON mapping:
 * lowerCamelCase keys, hex trace/span ids, integer enums, 64-bit integers as
 * strings or numbers) into flat span records the store can index, within the
 * bounds of `RequestLimits`: spans beyond them are rejected, oversized values
 * cut, and the result says so (OTLP partial success).
 */

import { DEFAULT_REQUEST_LIMITS } from './limits.ts'
import { OtlpFormatError } from './errors.ts'
import type { RequestLimits } from './limits.ts'
import type { AttrValue, StoredSpan } from '../../src/core/telemetry/collector-api.ts'

export { OtlpFormatError }

/** What was kept of one request, and what was not. */
export interface ParsedRequest {
  spans: StoredSpan[]
  /** Each kept span as stored (one JSON line each, same order as `spans`). */
  lines: string[]
  /** Spans not kept because of a limit. */
  rejected: number
  /** Why spans were rejected or values cut; empty when everything was kept whole. */
  warnings: string[]
  /** The request with only the kept spans (as sent, values uncut): what is worth forwarding. */
  kept: { resourceSpans: unknown[] }
}

const HEX32 = /^[0-9a-f]{32}$/
const HEX16 = /^[0-9a-f]{16}$/
/** kvlist values nest; deeper levels are dropped so a crafted body cannot exhaust the stack. */
const MAX_VALUE_DEPTH = 8

interface AnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: string | number
  doubleValue?: number
  arrayValue?: { values?: unknown }
  kvlistValue?: { values?: unknown }
  bytesValue?: string
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/**
 * Objects and arrays in a JSON text (brackets outside strings), counted up to
 * just past `stopAt`: a scan of the bytes, costing no allocation, to refuse
 * what `JSON.parse` would spend seconds and megabytes on.
 */
export function countJsonContainers(bytes: Uint8Array, stopAt = Infinity): number {
  let count = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: the next byte is escaped
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if ((c === 0x7b || c === 0x5b) && ++count > stopAt) {
      break
    }
  }
  return count
}

/** Every span of a request, no limit applied (for tests and trusted input); throws `OtlpFormatError`. */
export function parseOtlpJson(body: unknown, receivedAt = Date.now()): StoredSpan[] {
  return readOtlpJson(body, UNLIMITED, receivedAt).spans
}

const UNLIMITED: RequestLimits = {
  maxBodyBytes: Infinity,
  maxJsonContainers: Infinity,
  maxSpansPerRequest: Infinity,
  maxAttributes: Infinity,
  maxAttributeValueLength: Infinity,
  maxEventsPerSpan: Infinity,
  maxSpanBytes: Infinity,
  maxRequestStoredBytes: Infinity
}

/**
 * Reads a request within `limits`: spans beyond them rejected, oversized
 * values cut; throws `OtlpFormatError` with the path of the first malformed span.
 */
export function readOtlpJson(
  body: unknown,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
  receivedAt = Date.now()
): ParsedRequest {
  if (
    body == null ||
    typeof body !== 'object' ||
    !Array.isArray((body as { resourceSpans?: unknown }).resourceSpans)
  ) {
    throw new OtlpFormatError('body must be an ExportTraceServiceRequest: { "resourceSpans": [...] }')
  }
  const cut = new Set<string>()
  const cutString = (s: string): string => {
    if (s.length <= limits.maxAttributeValueLength) return s
    cut.add(`strings over ${limits.maxAttributeValueLength} characters were cut`)
    return s.slice(0, limits.maxAttributeValueLength)
  }
  const value = (v: AnyValue | undefined, depth: number): AttrValue => {
    if (v == null || typeof v !== 'object') return null
    if (typeof v.stringValue === 'string') return cutString(v.stringValue)
    if (typeof v.boolValue === 'boolean') return v.boolValue
    if (v.intValue !== undefined) return Number(v.intValue)
    if (typeof v.doubleValue === 'number') return v.doubleValue
    if (v.arrayValue !== undefined) {
      const items = list(v.arrayValue?.values)
      if (items.length > limits.maxAttributeValueLength)
        cut.add(`arrays over ${limits.maxAttributeValueLength} items were cut`)
      return items
        .slice(0, limits.maxAttributeValueLength)
        .map(item => value(item as AnyValue, depth + 1))
        .filter((x): x is string | number | boolean => x != null && typeof x !== 'object')
    }
    if (v.kvlistValue !== undefined)
      return depth >= MAX_VALUE_DEPTH
        ? null
        : cutString(JSON.stringify(attributes(v.kvlistValue?.values, depth + 1)))
    if (typeof v.bytesValue === 'string') return cutString(v.bytesValue)
    return null
  }
  const attributes = (raw: unknown, depth = 0): Record<string, AttrValue> => {
    const out: Record<string, AttrValue> = {}
    let kept = 0
    for (const kv of list(raw) as Array<{ key?: unknown; value?: AnyValue }>) {
      if (typeof kv?.key !== 'string') continue
      if (kept++ >= limits.maxAttributes) {
        cut.add(`attributes beyond ${limits.maxAttributes} per span, resource or event were dropped`)
        break
      }
      out[cutString(kv.key)] = value(kv.value, depth)
    }
    return out
  }
  const capped = <T>(items: unknown, what: string): T[] => {
    const all = list(items) as T[]
    if (all.length <= limits.maxEventsPerSpan) return all
    cut.add(`${what} beyond ${limits.maxEventsPerSpan} per span were dropped`)
    return all.slice(0, limits.maxEventsPerSpan)
  }

  function toSpan(raw: unknown, where: string, scope: string): Omit<StoredSpan, 'resource'> {
    const span = (raw ?? {}) as Record<string, unknown>
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
    const status = (span.status ?? {}) as { code?: unknown; message?: unknown }
    return {
      traceId,
      spanId,
      ...(parent != null ? { parentSpanId: parent } : {}),
      name: cutString(span.name),
      kind: typeof span.kind === 'number' ? span.kind : 0,
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      durationMs: Number(BigInt(end) - BigInt(start)) / 1e6,
      attributes: attributes(span.attributes),
      status: {
        code: typeof status.code === 'number' ? status.code : 0,
        ...(typeof status.message === 'string' && status.message !== ''
          ? { message: cutString(status.message) }
          : {})
      },
      links: capped<{ traceId?: unknown; spanId?: unknown } | null>(span.links, 'links').map(l => ({
        traceId: typeof l?.traceId === 'string' ? l.traceId.slice(0, 32) : '',
        spanId: typeof l?.spanId === 'string' ? l.spanId.slice(0, 16) : ''
      })),
      events: capped<{ name?: unknown; timeUnixNano?: unknown; attributes?: unknown } | null>(
        span.events,
        'events'
      ).map(e => ({
        name: typeof e?.name === 'string' ? cutString(e.name) : '',
        timeUnixNano: nanos(e?.timeUnixNano ?? 0, `${where}.events`),
        attributes: attributes(e?.attributes)
      })),
      scope,
      receivedAt
    }
  }

  const result: ParsedRequest = {
    spans: [],
    lines: [],
    rejected: 0,
    warnings: [],
    kept: { resourceSpans: [] }
  }
  const rejectedFor = new Set<string>()
  let storedBytes = 0
  list((body as { resourceSpans: unknown }).resourceSpans).forEach((rs, i) => {
    const r = (rs ?? {}) as { resource?: { attributes?: unknown }; scopeSpans?: unknown }
    if (r.scopeSpans != null && !Array.isArray(r.scopeSpans))
      throw new OtlpFormatError(`resourceSpans[${i}].scopeSpans must be an array`)
    let resource: Record<string, AttrValue> | undefined
    let resourceJson = ''
    const keptScopes: unknown[] = []
    list(r.scopeSpans).forEach((ss, j) => {
      const s = (ss ?? {}) as { scope?: { name?: unknown }; spans?: unknown }
      if (s.spans != null && !Array.isArray(s.spans))
        throw new OtlpFormatError(`resourceSpans[${i}].scopeSpans[${j}].spans must be an array`)
      const spans = list(s.spans)
      if (spans.length === 0) return
      const room = limits.maxSpansPerRequest - result.spans.length - result.rejected
      if (spans.length > room) {
        // past the per-request cap: counted, never parsed
        result.rejected += spans.length - Math.max(room, 0)
        rejectedFor.add(`spans beyond ${limits.maxSpansPerRequest} per request were rejected`)
      }
      if (room <= 0) return
      // a resource is shared by its spans in the request but copied into each stored span
      if (resource == null) {
        resource = attributes(r.resource?.attributes)
        resourceJson = JSON.stringify(resource)
      }
      const scope = cutString(typeof s.scope?.name === 'string' ? s.scope.name : '')
      const keptSpans: unknown[] = []
      spans.slice(0, room).forEach((raw, k) => {
        const span = toSpan(raw, `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`, scope)
        // the line puts the resource last: serialized once per resource, not once per span
        const line = `${JSON.stringify(span).slice(0, -1)},"resource":${resourceJson}}`
        const size = Buffer.byteLength(line)
        if (size > limits.maxSpanBytes) {
          result.rejected++
          rejectedFor.add(`spans over ${limits.maxSpanBytes} bytes (with their resource) were rejected`)
          return
        }
        if (storedBytes + size > limits.maxRequestStoredBytes) {
          result.rejected++
          rejectedFor.add(
            `spans beyond ${limits.maxRequestStoredBytes} stored bytes per request were rejected`
          )
          return
        }
        storedBytes += size
        result.spans.push({ ...span, resource: resource ?? {} })
        result.lines.push(line)
        keptSpans.push(raw)
      })
      if (keptSpans.length > 0) keptScopes.push({ ...s, spans: keptSpans })
    })
    if (keptScopes.length > 0) result.kept.resourceSpans.push({ ...r, scopeSpans: keptScopes })
  })
  result.warnings = [...rejectedFor, ...cut]
  return result
}

/**
 * `request` (an OTLP/JSON traces request as sent, or `ParsedRequest.kept`) with only the spans at
 * `indices`, counted in document order as `readOtlpJson` lists them; scopes and resources left
 * without a span are left out. Values stay as sent.
 */
export function selectSpans(request: unknown, indices: readonly number[]): { resourceSpans: unknown[] } {
  const keep = new Set(indices)
  let index = 0
  const resourceSpans: unknown[] = []
  for (const rs of list((request as { resourceSpans?: unknown } | null)?.resourceSpans)) {
    const r = (rs ?? {}) as { scopeSpans?: unknown }
    const scopeSpans: unknown[] = []
    for (const ss of list(r.scopeSpans)) {
      const s = (ss ?? {}) as { spans?: unknown }
      const spans = list(s.spans).filter(() => keep.has(index++))
      if (spans.length > 0) scopeSpans.push({ ...s, spans })
    }
    if (scopeSpans.length > 0) resourceSpans.push({ ...r, scopeSpans })
  }
  return { resourceSpans }
}

function nanos(v: unknown, where: string): string {
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v)).toString()
  if (typeof v === 'string' && /^\d{1,30}$/.test(v)) return v
  throw new OtlpFormatError(`${where} must be an integer (nanoseconds since the epoch)`)
}
