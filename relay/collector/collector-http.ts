/**
 * The collector's HTTP plumbing: what a request asks for (its body's encoding, its query
 * parameters) and the JSON answers, errors included, with the status each named error calls for.
 */
import {
  BodyTooLargeError,
  CollectorBusyError,
  HttpError,
  InvalidEncodingError,
  OtlpFormatError
} from './errors.ts'
import type { networkHealth } from './network-health.ts'
import type { SpanStore } from './span-store.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** How an OTLP export's body is encoded; refuses (415) anything but OTLP/HTTP JSON, plain or gzip. */
export function exportEncoding(req: IncomingMessage): 'gzip' | 'identity' {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type === 'application/x-protobuf') {
    throw new HttpError(
      415,
      'this collector accepts OTLP/HTTP JSON (application/json); configure the exporter for JSON'
    )
  }
  if (type !== 'application/json')
    throw new HttpError(415, 'Content-Type must be application/json (OTLP/HTTP JSON)')
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase()
  if (encoding !== 'gzip' && encoding !== 'identity')
    throw new HttpError(415, `Content-Encoding ${encoding} is not supported (gzip or none)`)
  return encoding === 'gzip' ? 'gzip' : 'identity'
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

/** The filters of `GET /api/traces`: `operation`, `name`, `attr.<key>`, `limit`. */
export function parseQuery(url: URL): Parameters<SpanStore['query']>[0] {
  const attributes: Record<string, string> = {}
  for (const [key, value] of url.searchParams) if (key.startsWith('attr.')) attributes[key.slice(5)] = value
  const operation = url.searchParams.get('operation') ?? undefined
  const name = url.searchParams.get('name') ?? undefined
  const limit = url.searchParams.get('limit')
  return {
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

/** Answers a failed request with the status its error calls for; 500 for anything unnamed. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof HttpError) sendJson(res, err.status, { error: err.message })
  else if (err instanceof OtlpFormatError || err instanceof InvalidEncodingError)
    sendJson(res, 400, { error: err.message })
  else if (err instanceof BodyTooLargeError) {
    // what the client may still be sending is not worth reading
    res.shouldKeepAlive = false
    sendJson(res, 413, { error: err.message })
  } else if (err instanceof CollectorBusyError) {
    res.setHeader('Retry-After', String(err.retryAfterSeconds))
    sendJson(res, 503, { error: err.message })
  } else sendJson(res, 500, { error: 'collector failure' })
}
