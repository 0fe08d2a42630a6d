/**
 * The collector's HTTP plumbing: what a request asks for (its body's encoding, its query
 * parameters) and the answers, errors included, with the status each named error calls for:
 * JSON for the query API, the request's own encoding for OTLP exports (OTLP/HTTP).
 */
import {
  BodyTooLargeError,
  CollectorBusyError,
  HttpError,
  InvalidEncodingError,
  OtlpFormatError
} from './errors.ts'
import { CONTENT_TYPES, encodeStatus } from './otlp-proto.ts'
import type { networkHealth } from './network-health.ts'
import type { OtlpEncoding } from './otlp-proto.ts'
import type { SpanStore } from './span-store.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

const mediaType = (req: IncomingMessage): string =>
  (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''

/** The encoding an OTLP request is answered in: protobuf for a protobuf body, JSON otherwise. */
export function answerEncoding(req: IncomingMessage): OtlpEncoding {
  return mediaType(req) === CONTENT_TYPES.protobuf ? 'protobuf' : 'json'
}

/**
 * How an OTLP export's body is encoded and whether it is gzipped; refuses (415) anything but
 * OTLP/HTTP protobuf or JSON, plain or gzip.
 */
export function exportEncoding(req: IncomingMessage): { encoding: OtlpEncoding; gzip: boolean } {
  const type = mediaType(req)
  const encoding =
    type === CONTENT_TYPES.json ? 'json' : type === CONTENT_TYPES.protobuf ? 'protobuf' : undefined
  if (encoding == null)
    throw new HttpError(
      415,
      `Content-Type must be application/x-protobuf or application/json (OTLP/HTTP), not ${type === '' ? 'none' : type}`
    )
  const contentEncoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase()
  if (contentEncoding !== 'gzip' && contentEncoding !== 'identity')
    throw new HttpError(415, `Content-Encoding ${contentEncoding} is not supported (gzip or none)`)
  return { encoding, gzip: contentEncoding === 'gzip' }
}

/** The `windowMs` and `bucketMs` of `GET /api/network-health`, each refused (400) out of its range. */
export function parseWindow(url: URL): Parameters<typeof networkHealth>[1] {
  const number = (name: string, min: number, max: number): number | undefined => {
    const raw = url.searchParams.get(name)
    if (raw == null) return undefined
    const value = Number(raw)
    if (!Number.isFinite(value) || value < min || value > max)
      throw new HttpError(400, `${name} must be a number of milliseconds from ${min} to ${max}`)
    return value
  }
  const windowMs = number('windowMs', 1000, 7 * 24 * 3600_000)
  const bucketMs = number('bucketMs', 100, 24 * 3600_000)
  return { ...(windowMs != null ? { windowMs } : {}), ...(bucketMs != null ? { bucketMs } : {}) }
}

/** The filters of `GET /api/traces`: `operation`, `name`, `attr.<key>`, `linkedTo`, `limit`. */
export function parseQuery(url: URL): Parameters<SpanStore['query']>[0] {
  const attributes: Record<string, string> = {}
  for (const [key, value] of url.searchParams) if (key.startsWith('attr.')) attributes[key.slice(5)] = value
  const operation = url.searchParams.get('operation') ?? undefined
  const name = url.searchParams.get('name') ?? undefined
  const limit = url.searchParams.get('limit')
  const linkedTo = url.searchParams.get('linkedTo') ?? undefined
  if (linkedTo != null && !/^[0-9a-f]{16}$/.test(linkedTo))
    throw new HttpError(400, 'linkedTo must be a span id: 16 lowercase hex digits')
  return {
    ...(linkedTo != null ? { linkedTo } : {}),
    ...(operation != null ? { operation } : {}),
    ...(name != null ? { name } : {}),
    attributes,
    ...(limit != null ? { limit: Number(limit) } : {})
  }
}

/** Answers with `body` as JSON, unless an answer has started already (a live stream's). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(body))
}

/** Answers an OTLP request with `body`, already in `encoding`. */
export function sendOtlp(
  res: ServerResponse,
  status: number,
  body: Uint8Array,
  encoding: OtlpEncoding
): void {
  if (res.headersSent) return
  res.writeHead(status, {
    'Content-Type': encoding === 'json' ? 'application/json; charset=utf-8' : CONTENT_TYPES.protobuf
  })
  res.end(body)
}

/** google.rpc.Code for each status answered (OTLP clients record it; the HTTP status decides). */
const RPC_CODES: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  404: 5, // NOT_FOUND
  405: 12, // UNIMPLEMENTED
  413: 8, // RESOURCE_EXHAUSTED
  415: 3,
  429: 8,
  502: 14, // UNAVAILABLE
  503: 14,
  504: 4 // DEADLINE_EXCEEDED
}

/** A refusal's answer: `{ "error": … }` for the query API; for an OTLP request (`encoding`), a Status in its encoding. */
export function sendRefusal(
  res: ServerResponse,
  status: number,
  message: string,
  encoding?: OtlpEncoding
): void {
  if (encoding == null) sendJson(res, status, { error: message })
  else sendOtlp(res, status, encodeStatus(encoding, RPC_CODES[status] ?? 13, message), encoding)
}

/**
 * Answers a failed request with the status its error calls for (500 for anything unnamed), as
 * `sendRefusal` says: 503 (full) carries `Retry-After`, as OTLP/HTTP throttling asks.
 */
export function sendError(res: ServerResponse, err: unknown, encoding?: OtlpEncoding): void {
  if (err instanceof HttpError) sendRefusal(res, err.status, err.message, encoding)
  else if (err instanceof OtlpFormatError || err instanceof InvalidEncodingError)
    sendRefusal(res, 400, err.message, encoding)
  else if (err instanceof BodyTooLargeError) {
    // what the client may still be sending is not worth reading
    res.shouldKeepAlive = false
    sendRefusal(res, 413, err.message, encoding)
  } else if (err instanceof CollectorBusyError) {
    res.setHeader('Retry-After', String(err.retryAfterSeconds))
    sendRefusal(res, 503, err.message, encoding)
  } else sendRefusal(res, 500, 'collector failure', encoding)
}
