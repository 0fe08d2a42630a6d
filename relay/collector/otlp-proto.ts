/**
 * OTLP/HTTP protobuf: the official protos (`protos/`, from open-telemetry/opentelemetry-proto)
 * read by protobufjs. A request body becomes the OTLP/JSON form the rest of the collector reads
 * (lowerCamelCase keys, hex trace and span ids, 64-bit integers as decimal strings, enums as
 * integers), and back; answers (ExportTraceServiceResponse, google.rpc.Status) are encoded here.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { OtlpEncodingError, OtlpFormatError } from './errors.ts'

/** How an OTLP/HTTP body is encoded. */
export type OtlpEncoding = 'json' | 'protobuf'

/** The media type of each encoding. */
export const CONTENT_TYPES: Record<OtlpEncoding, string> = {
  json: 'application/json',
  protobuf: 'application/x-protobuf'
}

const PROTOS = fileURLToPath(new URL('./protos/', import.meta.url))

interface OtlpTypes {
  request: protobuf.Type
  response: protobuf.Type
  status: protobuf.Type
}

let loaded: OtlpTypes | undefined

/** The message types, loaded from `protos/` on first use. */
export function otlpTypes(): OtlpTypes {
  if (loaded != null) return loaded
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => join(PROTOS, target)
  root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto'])
  const service = 'opentelemetry.proto.collector.trace.v1'
  loaded = {
    request: root.lookupType(`${service}.ExportTraceServiceRequest`),
    response: root.lookupType(`${service}.ExportTraceServiceResponse`),
    status: root.lookupType('google.rpc.Status')
  }
  return loaded
}

/** The proto3 JSON mapping, except ids (hex, below): what `toObject` gives the OTLP/JSON form. */
const TO_JSON: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String }
/** Fields of `Span` and `Span.Link` that OTLP/JSON writes in hex instead of base64. */
const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId'])

type Json = Record<string, unknown>
const objects = (v: unknown): Json[] =>
  Array.isArray(v) ? v.filter((x): x is Json => x != null && typeof x === 'object') : []

/** Each span's and link's ids of a request, from one form to the other, in place. */
function mapIds(request: Json, convert: (id: unknown) => unknown): void {
  for (const rs of objects(request.resourceSpans))
    for (const ss of objects(rs.scopeSpans))
      for (const span of objects(ss.spans))
        for (const holder of [span, ...objects(span.links)])
          for (const key of ID_FIELDS) if (key in holder) holder[key] = convert(holder[key])
}

/**
 * An ExportTraceServiceRequest in protobuf, as OTLP/JSON; throws `OtlpFormatError` saying what
 * is wrong with it. The body's size and complexity are bounded before (`countProtobufContainers`).
 */
export function decodeTraceRequest(body: Uint8Array): { resourceSpans: unknown[] } {
  const { request } = otlpTypes()
  let json: Json
  try {
    json = request.toObject(request.decode(body), TO_JSON)
  } catch (err) {
    throw new OtlpFormatError(
      `the body is not a protobuf ExportTraceServiceRequest (${(err as Error).message})`
    )
  }
  mapIds(json, id => (typeof id === 'string' ? Buffer.from(id, 'base64').toString('hex') : id))
  return { resourceSpans: Array.isArray(json.resourceSpans) ? (json.resourceSpans as unknown[]) : [] }
}

/** Values nest (kvlist, array); deeper than protobufjs encodes, they are left out of what is sent. */
const MAX_DEPTH = protobuf.util.recursionLimit - 4
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const INTEGER = /^-?\d{1,20}$/
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'])

/**
 * `value` with only what `type` can hold: a message field that is not an object, a repeated
 * field that is not an array, a 64-bit integer or bytes that do not parse, are left out (an
 * OTLP/JSON body the collector accepted may carry such things outside what it reads).
 */
function shape(value: unknown, type: protobuf.Type, depth: number): Json | undefined {
  if (value == null || typeof value !== 'object' || Array.isArray(value) || depth > MAX_DEPTH)
    return undefined
  const out: Json = {}
  for (const field of type.fieldsArray) {
    const v = (value as Json)[field.name]
    if (v == null) continue
    const sub = field.resolvedType
    if (sub instanceof protobuf.Type) {
      if (field.repeated) {
        if (Array.isArray(v)) out[field.name] = v.map(x => shape(x, sub, depth + 1)).filter(x => x != null)
      } else {
        const shaped = shape(v, sub, depth + 1)
        if (shaped != null) out[field.name] = shaped
      }
    } else if (field.repeated) {
      if (Array.isArray(v)) out[field.name] = v
    } else if (LONG_TYPES.has(field.type)) {
      if ((typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && INTEGER.test(v)))
        out[field.name] = v
    } else if (field.type === 'bytes') {
      if (ID_FIELDS.has(field.name) && typeof v === 'string') out[field.name] = Buffer.from(v, 'hex')
      else if (typeof v === 'string' && BASE64.test(v)) out[field.name] = v
    } else if (field.type === 'double' || field.type === 'float') {
      if (typeof v === 'number' || (typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))))
        out[field.name] = Number(v)
    } else {
      out[field.name] = v
    }
  }
  return out
}

/**
 * An OTLP/JSON traces request (as received, or cut by `selectSpans`) in protobuf, for an
 * upstream that takes `http/protobuf`; throws `OtlpEncodingError`.
 */
export function encodeTraceRequest(json: unknown): Uint8Array {
  const { request } = otlpTypes()
  try {
    const message = request.fromObject(shape(json, request, 0) ?? {})
    return owned(request.encode(message).finish())
  } catch (err) {
    throw new OtlpEncodingError(`the spans could not be encoded in protobuf: ${(err as Error).message}`)
  }
}

/**
 * `bytes` over an ArrayBuffer of its own, which a worker can transfer: a small Buffer from
 * protobufjs's writer is a slice of Node's shared pool.
 */
export function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes)
}

/** The OTLP partial success of an answer: spans refused, and why. */
export interface PartialSuccess {
  rejectedSpans: number
  errorMessage: string
}

/** An ExportTraceServiceResponse in `encoding`; an empty one means every span was accepted. */
export function encodeTraceResponse(encoding: OtlpEncoding, partialSuccess?: PartialSuccess): Uint8Array {
  const body = partialSuccess != null ? { partialSuccess } : {}
  if (encoding === 'json') return new TextEncoder().encode(JSON.stringify(body))
  const { response } = otlpTypes()
  return response.encode(response.fromObject(body)).finish()
}

/**
 * A google.rpc.Status, the body of an OTLP/HTTP error answer, in `encoding`. The JSON one keeps
 * `error` (the message) beside `code` and `message`, as the collector's other answers have it.
 */
export function encodeStatus(encoding: OtlpEncoding, code: number, message: string): Uint8Array {
  if (encoding === 'json') return new TextEncoder().encode(JSON.stringify({ code, message, error: message }))
  const { status } = otlpTypes()
  return status.encode(status.fromObject({ code, message })).finish()
}

/** Objects `decode` makes for one message of `type`: the message and an array per repeated field. */
const weights = new Map<protobuf.Type, number>()
function weight(type: protobuf.Type): number {
  let w = weights.get(type)
  if (w == null) {
    w = 1 + type.fieldsArray.filter(f => f.repeated || f.map).length
    weights.set(type, w)
  }
  return w
}

/**
 * The objects and arrays decoding `body` as an ExportTraceServiceRequest would make, counted up
 * to just past `stopAt` by walking its wire format with protobufjs's reader (nothing decoded, no
 * allocation per message): 4 MiB of empty nested messages are two million of them, which
 * `decode` would spend seconds and hundreds of megabytes on. Throws `OtlpFormatError` for a body
 * whose lengths do not add up or that nests deeper than protobufjs decodes.
 */
export function countProtobufContainers(body: Uint8Array, stopAt = Infinity): number {
  const { request } = otlpTypes()
  const reader = protobuf.Reader.create(body)
  const open: Array<{ type: protobuf.Type; end: number }> = [{ type: request, end: body.length }]
  let count = weight(request)
  try {
    while (open.length > 0) {
      const top = open[open.length - 1]!
      if (reader.pos >= top.end) {
        if (reader.pos > top.end) throw new Error(`a field runs past the end of its message at ${top.end}`)
        open.pop()
        continue
      }
      const tag = reader.uint32()
      const sub = top.type.fieldsById[tag >>> 3]?.resolvedType
      if ((tag & 7) !== 2 || !(sub instanceof protobuf.Type)) {
        reader.skipType(tag & 7, 0, tag >>> 3)
        continue
      }
      const end = reader.uint32() + reader.pos
      if (end > top.end) throw new Error(`a message runs past the end of its parent at ${top.end}`)
      count += weight(sub)
      if (count > stopAt) return count
      if (open.length > protobuf.util.recursionLimit) throw new Error('max depth exceeded')
      open.push({ type: sub, end })
    }
  } catch (err) {
    throw new OtlpFormatError(
      `the body is not a protobuf ExportTraceServiceRequest (${(err as Error).message})`
    )
  }
  return count
}
