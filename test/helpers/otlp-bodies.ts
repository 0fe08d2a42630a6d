import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import protobuf from 'protobufjs'

const PROTOS = fileURLToPath(new URL('../../relay/collector/protos/', import.meta.url))

/**
 * The official OTLP protos (as the relay ships them, from open-telemetry/opentelemetry-proto)
 * read by protobufjs on their own: bodies built here owe nothing to the collector's code.
 */
export function officialProtos(): { request: protobuf.Type; response: protobuf.Type; status: protobuf.Type } {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => join(PROTOS, target)
  root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto'])
  return {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    status: root.lookupType('google.rpc.Status')
  }
}

export interface TestSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  attributes?: Record<string, string | number | boolean | string[]>
}

type AnyValue = Record<string, unknown>
const anyValue = (v: string | number | boolean | string[]): AnyValue =>
  typeof v === 'string'
    ? { stringValue: v }
    : typeof v === 'boolean'
      ? { boolValue: v }
      : Array.isArray(v)
        ? { arrayValue: { values: v.map(anyValue) } }
        : Number.isInteger(v)
          ? { intValue: String(v) }
          : { doubleValue: v }

/**
 * One ExportTraceServiceRequest in the OTLP/JSON mapping (hex ids): a resource, a scope, `spans`
 * with kind, times, status, an event with a kvlist and a bytes value, and a link.
 */
export function otlpJson(
  spans: TestSpan[],
  resource: Record<string, string> = {}
): { resourceSpans: unknown[] } {
  return {
    resourceSpans: [
      {
        resource: { attributes: Object.entries(resource).map(([key, v]) => ({ key, value: anyValue(v) })) },
        scopeSpans: [
          {
            scope: { name: 'p2p-marketplace', version: '1.0.0' },
            spans: spans.map(span => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId != null ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              kind: 3,
              startTimeUnixNano: '1764000000000000123',
              endTimeUnixNano: '1764000000245000123',
              attributes: Object.entries(span.attributes ?? {}).map(([key, v]) => ({
                key,
                value: anyValue(v)
              })),
              events: [
                {
                  timeUnixNano: '1764000000100000000',
                  name: 'answered',
                  attributes: [
                    {
                      key: 'peer',
                      value: { kvlistValue: { values: [{ key: 'id', value: { stringValue: 'p1' } }] } }
                    },
                    { key: 'raw', value: { bytesValue: Buffer.from('hello').toString('base64') } }
                  ]
                }
              ],
              links: [{ traceId: 'cd'.repeat(16), spanId: 'ef'.repeat(8) }],
              status: { code: 2, message: 'peer timed out' }
            }))
          }
        ]
      }
    ]
  }
}

/** `json` (an OTLP/JSON request) in protobuf, encoded by protobufjs from the official protos. */
export function toProtobuf(json: { resourceSpans: unknown[] }): Uint8Array<ArrayBuffer> {
  const { request } = officialProtos()
  const copy = structuredClone(json) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: AnyValue[] }> }> }
  for (const rs of copy.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const span of ss.spans)
        for (const holder of [span, ...((span.links as AnyValue[] | undefined) ?? [])])
          for (const key of ['traceId', 'spanId', 'parentSpanId'])
            if (typeof holder[key] === 'string') holder[key] = Buffer.from(holder[key], 'hex')
  return new Uint8Array(request.encode(request.fromObject(copy)).finish())
}
