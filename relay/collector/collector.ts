import { gunzip } from 'node:zlib'
import { promisify } from 'node:util'
import { networkHealth } from './network-health.ts'
import { OtlpFormatError, parseOtlpJson } from './otlp-json.ts'
import type { UpstreamForwarder } from './forwarder.ts'
import type { SpanStore } from './span-store.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

const gunzipAsync = promisify(gunzip)

export interface CollectorInit {
  store: SpanStore
  forwarder?: UpstreamForwarder
  /** Origins (besides the relay's own) allowed to export and query: embedding sites. `*` allows any. */
  allowedOrigins: string[]
  /** Largest request body, compressed or not. @default 4 MiB */
  maxBodyBytes?: number
}

class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

/**
 * The relay's embedded OTLP/HTTP collector: `POST /v1/traces` (JSON, gzip),
 * CORS for the app and embedding sites, a query API over the stored spans
 * (`GET /api/traces`, `/api/traces/:traceId`), a live stream
 * (`GET /api/traces/stream`, server-sent events) and aggregates of the
 * whole network (`GET /api/network-health`).
 */
export class Collector {
  readonly store: SpanStore
  private readonly forwarder?: UpstreamForwarder
  private readonly allowedOrigins: Set<string>
  private readonly maxBodyBytes: number

  constructor(init: CollectorInit) {
    this.store = init.store
    this.forwarder = init.forwarder
    this.allowedOrigins = new Set(init.allowedOrigins)
    this.maxBodyBytes = init.maxBodyBytes ?? 4 * 1024 * 1024
  }

  /** Stores (and forwards upstream) one OTLP/JSON request; returns the number of spans. */
  ingest(body: unknown, raw?: Uint8Array): number {
    const spans = parseOtlpJson(body)
    this.store.add(spans)
    if (this.forwarder != null && spans.length > 0)
      this.forwarder.enqueue(raw ?? new TextEncoder().encode(JSON.stringify(body)))
    return spans.length
  }

  /** Handles the collector's routes; false when the request is not for it. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname
    if (
      path !== '/v1/traces' &&
      path !== '/api/traces' &&
      path !== HEALTH_PATH &&
      !path.startsWith('/api/traces/')
    )
      return false
    if (!this.cors(req, res)) {
      send(res, 403, { error: `origin ${req.headers.origin} is not allowed; add it to EMBED_ORIGINS` })
      return true
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', path === '/v1/traces' ? 'POST, OPTIONS' : 'GET, OPTIONS')
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Content-Encoding')
      res.setHeader('Access-Control-Max-Age', '600')
      res.writeHead(204).end()
      return true
    }
    try {
      if (path === '/v1/traces') {
        if (req.method !== 'POST') throw new HttpError(405, 'POST OTLP/JSON to /v1/traces')
        await this.receive(req, res)
      } else if (req.method !== 'GET') {
        throw new HttpError(405, 'the query API is read-only (GET)')
      } else if (path === HEALTH_PATH) {
        send(res, 200, networkHealth(this.store.spans(), parseWindow(url)))
      } else if (path === '/api/traces') {
        send(res, 200, { traces: this.store.query(parseQuery(url)) })
      } else if (path === '/api/traces/stream') {
        this.stream(req, res)
      } else {
        const trace = this.store.trace(decodeURIComponent(path.slice('/api/traces/'.length)))
        if (trace == null)
          throw new HttpError(404, 'no such trace (yet): spans arrive a second or two after the operation')
        send(res, 200, { traceId: trace[0]?.traceId, spans: trace })
      }
    } catch (err) {
      if (err instanceof HttpError) send(res, err.status, { error: err.message })
      else if (err instanceof OtlpFormatError) send(res, 400, { error: err.message })
      else send(res, 500, { error: 'collector failure' })
    }
    return true
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
    if (type === 'application/x-protobuf') {
      throw new HttpError(
        415,
        'this collector accepts OTLP/HTTP JSON (application/json); configure the exporter for JSON'
      )
    }
    if (type !== 'application/json')
      throw new HttpError(415, 'Content-Type must be application/json (OTLP/HTTP JSON)')
    let raw = await readBody(req, this.maxBodyBytes)
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase()
    if (encoding === 'gzip') {
      try {
        raw = await gunzipAsync(raw, { maxOutputLength: this.maxBodyBytes * 4 })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
          throw new HttpError(413, 'the decompressed body is too large')
        throw new HttpError(400, 'the body is not valid gzip')
      }
    } else if (encoding !== 'identity') {
      throw new HttpError(415, `Content-Encoding ${encoding} is not supported (gzip or none)`)
    }
    let body: unknown
    try {
      body = JSON.parse(new TextDecoder().decode(raw))
    } catch {
      throw new HttpError(400, 'the body is not JSON')
    }
    this.ingest(body, raw)
    // ExportTraceServiceResponse: an empty partial success means everything was accepted
    send(res, 200, {})
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive'
    })
    res.write(': connected\n\n')
    const unsubscribe = this.store.subscribe(batch => {
      res.write(`event: spans\ndata: [${batch.lines.join(',')}]\n\n`)
    })
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000)
    req.on('close', () => {
      clearInterval(keepAlive)
      unsubscribe()
    })
  }

  /** Sets CORS headers; false when a cross-origin request comes from an origin that is not allowed. */
  private cors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin
    if (origin == null) return true
    const own = `http://${req.headers.host ?? ''}`
    if (origin !== own && !this.allowedOrigins.has('*') && !this.allowedOrigins.has(origin)) return false
    res.setHeader('Access-Control-Allow-Origin', origin)
    res.setHeader('Vary', 'Origin')
    return true
  }
}

const HEALTH_PATH = '/api/network-health'

function parseWindow(url: URL): Parameters<typeof networkHealth>[1] {
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

function parseQuery(url: URL): Parameters<SpanStore['query']>[0] {
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

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > max) throw new HttpError(413, `the body exceeds ${max} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > max) throw new HttpError(413, `the body exceeds ${max} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(body))
}
