import { timingSafeEqual } from 'node:crypto'
import { describeError } from '../../src/core/errors.ts'
import {
  BodyTooLargeError,
  CollectorBusyError,
  HttpError,
  InvalidEncodingError,
  OtlpFormatError
} from './errors.ts'
import { DEFAULT_REQUEST_LIMITS } from './limits.ts'
import { networkHealth } from './network-health.ts'
import { readOtlpJson, selectSpans } from './otlp-json.ts'
import { OtlpParser } from './otlp-parser.ts'
import { readBody } from './read-body.ts'
import { TraceStream } from './trace-stream.ts'
import type { UpstreamForwarder } from './forwarder.ts'
import type { ParserLimits, RequestLimits } from './limits.ts'
import type { ParsedBody } from './otlp-parser.ts'
import type { SpanStore, SpanStoreStats } from './span-store.ts'
import type { TraceStreamInit, TraceStreamStats } from './trace-stream.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface CollectorInit {
  store: SpanStore
  /** Where what the store takes goes next (`UpstreamForwarder`). */
  forwarder?: Pick<UpstreamForwarder, 'enqueue'>
  /** Origins (besides the relay's own) allowed to export and query: embedding sites. `*` allows any. */
  allowedOrigins: string[]
  /** Whether an origin is one of the relay's own (`PUBLIC_ORIGINS`); none when not given. */
  isPublicOrigin?: (origin: string) => boolean
  /**
   * Whether a request's `Host` (or trusted forwarded host) names one of the relay's own origins:
   * a browser's same-origin read carries no `Origin`, and a page on a rebound DNS name sends its
   * own name. Every request does when not given.
   */
  namesPublicOrigin?: (req: IncomingMessage) => boolean
  /**
   * The relay is reachable from other machines (`PUBLIC_ORIGINS`, or a HOST that is not loopback):
   * exports from clients without a browser `Origin` need {@link token}. @default false
   */
  public?: boolean
  /** `COLLECTOR_TOKEN`: tools present it as `Authorization: Bearer <token>`. */
  token?: string
  /** What one request may carry; defaults in `DEFAULT_REQUEST_LIMITS` (`limits.ts`). */
  limits?: Partial<RequestLimits>
  /** How much the body parser (a worker thread) may use; defaults in `DEFAULT_PARSER_LIMITS`. */
  parser?: Partial<ParserLimits>
  /** Live stream bounds; defaults in `DEFAULT_STREAM_LIMITS`. */
  stream?: TraceStreamInit
}

/** What became of one request's spans: the OTLP partial success, plus what was already stored. */
export interface IngestResult {
  accepted: number
  /** Already stored: accepted (OTLP requests are retried) but neither stored nor forwarded again. */
  duplicates: number
  rejected: number
  /** Why spans were rejected or values cut; absent when everything was kept whole. */
  errorMessage?: string
}

/** The collector's counters, for `/healthz`. */
export interface CollectorStats {
  store: SpanStoreStats
  stream: TraceStreamStats
  /** Spans rejected by a limit since start. */
  rejectedSpans: number
  /** Requests answered 413 (too large or too complex) and 503 (parser busy). */
  tooLarge: number
  busy: number
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
  private readonly forwarder?: Pick<UpstreamForwarder, 'enqueue'>
  private readonly allowedOrigins: Set<string>
  private readonly isPublicOrigin: (origin: string) => boolean
  private readonly namesPublicOrigin: (req: IncomingMessage) => boolean
  private readonly public: boolean
  private readonly token?: Buffer
  private readonly limits: RequestLimits
  private readonly parser: OtlpParser
  private readonly live: TraceStream
  private readonly counters = { rejectedSpans: 0, tooLarge: 0, busy: 0 }
  private stopping = false

  constructor(init: CollectorInit) {
    this.store = init.store
    this.forwarder = init.forwarder
    this.allowedOrigins = new Set(init.allowedOrigins)
    this.isPublicOrigin = init.isPublicOrigin ?? (() => false)
    this.namesPublicOrigin = init.namesPublicOrigin ?? (() => true)
    this.public = init.public ?? false
    if (init.token != null) this.token = Buffer.from(init.token)
    this.limits = { ...DEFAULT_REQUEST_LIMITS, ...init.limits }
    this.parser = new OtlpParser({
      limits: this.limits,
      ...(init.parser != null ? { parser: init.parser } : {})
    })
    this.live = new TraceStream(init.store, init.stream)
  }

  get stats(): CollectorStats {
    return { store: this.store.stats, stream: { ...this.live.stats }, ...this.counters }
  }

  /**
   * Stores (and forwards upstream) one OTLP/JSON request already parsed as
   * JSON, on this thread: for the relay's own spans, which it trusts.
   */
  ingest(body: unknown, raw?: Uint8Array): IngestResult {
    const { kept, ...parsed } = readOtlpJson(body, this.limits)
    return this.accept(parsed, (forwarder, added) => {
      const all = added.length === parsed.spans.length
      forwarder.enqueue(
        all && parsed.rejected === 0 && raw != null
          ? raw
          : new TextEncoder().encode(JSON.stringify(all ? kept : selectSpans(kept, added)))
      )
    })
  }

  /** Ends the live streams and the parser. */
  async stop(): Promise<void> {
    this.stopping = true
    this.live.close()
    await this.parser.stop()
  }

  /**
   * Stores a parsed request's spans; `forward` sends upstream the ones stored
   * (at `added` in `parsed.spans`), when there are any and a forwarder: not
   * those refused for their trace's cap, nor those already stored (forwarded before).
   */
  private accept(
    parsed: ParsedBody,
    forward: (forwarder: NonNullable<CollectorInit['forwarder']>, added: number[]) => void
  ): IngestResult {
    const stored = this.store.add(parsed.spans, parsed.lines)
    const warnings = [...parsed.warnings]
    if (stored.rejected > 0) {
      const { maxSpansPerTrace, maxTraceBytes } = this.store.limits
      warnings.push(
        `spans of traces at their cap (${maxSpansPerTrace} spans, ${maxTraceBytes} bytes) were rejected`
      )
    }
    const rejected = parsed.rejected + stored.rejected
    this.counters.rejectedSpans += rejected
    if (this.forwarder != null && stored.added > 0) forward(this.forwarder, stored.addedIndices)
    return {
      accepted: stored.added,
      duplicates: stored.duplicates,
      rejected,
      ...(warnings.length > 0 ? { errorMessage: warnings.join('; ') } : {})
    }
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
    const refused = this.refusal(req, res)
    if (refused != null) {
      send(res, refused.status, { error: refused.error })
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
        this.live.open(req, res)
      } else {
        const trace = this.store.trace(decodeURIComponent(path.slice('/api/traces/'.length)))
        if (trace == null)
          throw new HttpError(404, 'no such trace (yet): spans arrive a second or two after the operation')
        send(res, 200, { traceId: trace[0]?.traceId, spans: trace })
      }
    } catch (err) {
      if (err instanceof HttpError) send(res, err.status, { error: err.message })
      else if (err instanceof OtlpFormatError || err instanceof InvalidEncodingError)
        send(res, 400, { error: err.message })
      else if (err instanceof BodyTooLargeError) {
        this.counters.tooLarge++
        // what the client may still be sending is not worth reading
        res.shouldKeepAlive = false
        send(res, 413, { error: err.message })
      } else if (err instanceof CollectorBusyError) {
        this.counters.busy++
        res.setHeader('Retry-After', String(err.retryAfterSeconds))
        send(res, 503, { error: err.message })
      } else send(res, 500, { error: 'collector failure' })
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
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase()
    if (encoding !== 'gzip' && encoding !== 'identity')
      throw new HttpError(415, `Content-Encoding ${encoding} is not supported (gzip or none)`)
    const raw = await readBody(req, this.limits.maxBodyBytes, encoding === 'gzip')
    const parsed = await this.parser.parse(raw, this.forwarder != null)
    const result = this.accept(parsed, (forwarder, added) => {
      if (parsed.forward == null) return
      if (added.length === parsed.spans.length) {
        forwarder.enqueue(parsed.forward)
        return
      }
      // cutting the body down means parsing it again: the worker does it
      this.parser.select(parsed.forward, added).then(
        body => forwarder.enqueue(body),
        (err: unknown) => {
          if (!this.stopping) console.error(`collector: spans not forwarded upstream: ${describeError(err)}`)
        }
      )
    })
    // ExportTraceServiceResponse: an empty partial success means everything was accepted
    send(
      res,
      200,
      result.errorMessage != null
        ? { partialSuccess: { rejectedSpans: result.rejected, errorMessage: result.errorMessage } }
        : {}
    )
  }

  /**
   * Who may use the collector; undefined when this request may (CORS headers set).
   *
   * - A request with an `Origin` (every browser POST, every cross-origin request) needs one of
   *   the relay's own origins or an embedding site's. Its `Host` has no say: a page on a rebound
   *   DNS name sends a matching `Host` and `Origin`.
   * - `Authorization: Bearer <COLLECTOR_TOKEN>` admits any other client.
   * - Without either, a read (a browser's same-origin GET carries no `Origin`) needs a `Host`
   *   naming one of the relay's own origins, which a page on a rebound name cannot send; an export
   *   (only tools POST without `Origin`) needs a relay that is not public.
   *
   * A tool can forge `Origin` and `Host`: these rules keep other sites' pages and rebound names
   * out, the token keeps tools out of exporting to a public relay.
   */
  private refusal(req: IncomingMessage, res: ServerResponse): { status: number; error: string } | undefined {
    const origin = req.headers.origin
    if (origin != null) {
      if (!this.isPublicOrigin(origin) && !this.allowedOrigins.has('*') && !this.allowedOrigins.has(origin))
        return {
          status: 403,
          error: `origin ${origin} is not allowed; add it to PUBLIC_ORIGINS (the relay's own web side) or EMBED_ORIGINS (a site embedding the widget)`
        }
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Vary', 'Origin')
      return undefined
    }
    const authorization = req.headers.authorization
    if (authorization != null) {
      if (this.tokenMatches(authorization)) return undefined
      return { status: 401, error: "the collector token is not this relay's (COLLECTOR_TOKEN)" }
    }
    if (req.method !== 'POST') {
      if (this.namesPublicOrigin(req)) return undefined
      return {
        status: 403,
        error: `host ${req.headers.host ?? '(none)'} is not one of this relay's origins (PUBLIC_ORIGINS)`
      }
    }
    if (!this.public) return undefined
    return {
      status: 401,
      error:
        this.token != null
          ? 'this relay is public: send "Authorization: Bearer <COLLECTOR_TOKEN>" (browsers: an allowed Origin)'
          : 'this relay is public: exports without a browser Origin need a token, and COLLECTOR_TOKEN is not set'
    }
  }

  private tokenMatches(authorization: string): boolean {
    if (this.token == null) return false
    const given = Buffer.from(/^Bearer (.+)$/i.exec(authorization.trim())?.[1] ?? '')
    return given.length === this.token.length && timingSafeEqual(given, this.token)
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

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(body))
}
