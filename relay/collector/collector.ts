import { describeError } from '../../src/core/errors.ts'
import { CollectorAccess } from './collector-access.ts'
import {
  answerEncoding,
  exportEncoding,
  parseQuery,
  parseWindow,
  sendError,
  sendJson,
  sendOtlp,
  sendRefusal
} from './collector-http.ts'
import { BodyTooLargeError, CollectorBusyError, HttpError } from './errors.ts'
import { DEFAULT_REQUEST_LIMITS } from './limits.ts'
import { networkHealth } from './network-health.ts'
import { readOtlpJson, selectSpans } from './otlp-json.ts'
import { OtlpParser } from './otlp-parser.ts'
import { encodeTraceRequest, encodeTraceResponse } from './otlp-proto.ts'
import { readBody } from './read-body.ts'
import { TraceStream } from './trace-stream.ts'
import type { CollectorAccessInit } from './collector-access.ts'
import type { UpstreamForwarder } from './forwarder.ts'
import type { ParserLimits, RequestLimits } from './limits.ts'
import type { ParsedBody } from './otlp-parser.ts'
import type { OtlpEncoding } from './otlp-proto.ts'
import type { OtlpSignal, SignalProxy } from './signal-proxy.ts'
import type { SpanStore, SpanStoreStats } from './span-store.ts'
import type { TraceStreamInit, TraceStreamStats } from './trace-stream.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Where what the store takes goes next: bodies in its `encoding` (JSON when it names none). */
export type SpanSink = Pick<UpstreamForwarder, 'enqueue'> & { readonly encoding?: OtlpEncoding }

export interface CollectorInit extends CollectorAccessInit {
  store: SpanStore
  /** Where what the store takes goes next (`UpstreamForwarder`). */
  forwarder?: SpanSink
  /** Where `POST /v1/metrics` and `/v1/logs` go (upstream); without it they get 404. */
  signals?: Pick<SignalProxy, 'forward'>
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
 * The relay's embedded OTLP/HTTP collector: `POST /v1/traces` (protobuf or JSON, gzip or not,
 * answered in the request's encoding), `/v1/metrics` and `/v1/logs` passed upstream or 404,
 * CORS for the app and embedding sites, a query API over the stored spans
 * (`GET /api/traces`, `/api/traces/:traceId`), a live stream
 * (`GET /api/traces/stream`, server-sent events) and aggregates of the
 * whole network (`GET /api/network-health`).
 */
export class Collector {
  readonly store: SpanStore
  private readonly forwarder?: SpanSink
  private readonly signals?: Pick<SignalProxy, 'forward'>
  private readonly access: CollectorAccess
  private readonly limits: RequestLimits
  private readonly parser: OtlpParser
  private readonly live: TraceStream
  private readonly counters = { rejectedSpans: 0, tooLarge: 0, busy: 0 }
  private stopping = false

  constructor(init: CollectorInit) {
    this.store = init.store
    this.forwarder = init.forwarder
    this.signals = init.signals
    this.access = new CollectorAccess(init)
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
   * JSON (`raw`: its bytes), on this thread: for the relay's own spans, which it trusts.
   */
  ingest(body: unknown, raw?: Uint8Array): IngestResult {
    const { kept, ...parsed } = readOtlpJson(body, this.limits)
    return this.accept(parsed, (forwarder, added) => {
      const all = added.length === parsed.spans.length
      const request = all ? kept : selectSpans(kept, added)
      if (forwarder.encoding === 'protobuf') {
        try {
          forwarder.enqueue(encodeTraceRequest(request))
        } catch (err) {
          console.error(`collector: spans not forwarded upstream: ${describeError(err)}`)
        }
        return
      }
      forwarder.enqueue(
        all && parsed.rejected === 0 && raw != null ? raw : new TextEncoder().encode(JSON.stringify(request))
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
    const otlp = path.startsWith('/v1/')
    if (!otlp && path !== '/api/traces' && path !== HEALTH_PATH && !path.startsWith('/api/traces/'))
      return false
    // OTLP requests are answered in their own encoding (a google.rpc.Status for a failure)
    const encoding = otlp ? answerEncoding(req) : undefined
    const refused = this.access.refusal(req, res)
    if (refused != null) {
      sendRefusal(res, refused.status, refused.error, encoding)
      return true
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', otlp ? 'POST, OPTIONS' : 'GET, OPTIONS')
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Content-Encoding')
      res.setHeader('Access-Control-Max-Age', '600')
      res.writeHead(204).end()
      return true
    }
    try {
      if (otlp) {
        await this.export(req, res, path)
      } else if (req.method !== 'GET') {
        throw new HttpError(405, 'the query API is read-only (GET)')
      } else if (path === HEALTH_PATH) {
        sendJson(res, 200, networkHealth(this.store.spans(), parseWindow(url)))
      } else if (path === '/api/traces') {
        sendJson(res, 200, { traces: this.store.query(parseQuery(url)) })
      } else if (path === '/api/traces/stream') {
        this.live.open(req, res)
      } else {
        const trace = this.store.trace(decodeURIComponent(path.slice('/api/traces/'.length)))
        if (trace == null)
          throw new HttpError(404, 'no such trace (yet): spans arrive a second or two after the operation')
        sendJson(res, 200, { traceId: trace[0]?.traceId, spans: trace })
      }
    } catch (err) {
      if (err instanceof BodyTooLargeError) this.counters.tooLarge++
      else if (err instanceof CollectorBusyError) this.counters.busy++
      sendError(res, err, encoding)
    }
    return true
  }

  /** `POST /v1/traces`, kept here; `/v1/metrics` and `/v1/logs`, passed upstream when there is one. */
  private async export(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const signal = path.slice('/v1/'.length)
    if (signal !== 'traces' && signal !== 'metrics' && signal !== 'logs')
      throw new HttpError(404, `no such OTLP/HTTP path: ${path} (this collector takes POST /v1/traces)`)
    if (req.method !== 'POST') throw new HttpError(405, `POST OTLP (protobuf or JSON) to /v1/${signal}`)
    if (signal === 'traces') await this.receive(req, res)
    else if (this.signals != null) await this.signals.forward(req, res, signal satisfies OtlpSignal)
    else
      throw new HttpError(
        404,
        `this collector keeps traces only (POST /v1/traces); ${signal} are not collected here: set OTEL_EXPORTER_OTLP_ENDPOINT on the relay to forward them to an upstream collector`
      )
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { encoding, gzip } = exportEncoding(req)
    const raw = await readBody(req, this.limits.maxBodyBytes, gzip)
    const upstream = this.forwarder?.encoding ?? 'json'
    const parsed = await this.parser.parse(raw, encoding, this.forwarder != null ? upstream : undefined)
    const result = this.accept(parsed, (forwarder, added) => {
      if (parsed.forwardError != null)
        console.error(`collector: spans not forwarded upstream: ${parsed.forwardError}`)
      if (parsed.forward == null) return
      if (added.length === parsed.spans.length) {
        forwarder.enqueue(parsed.forward)
        return
      }
      // cutting the body down means reading it again: the worker does it
      this.parser.select(parsed.forward, upstream, added).then(
        body => forwarder.enqueue(body),
        (err: unknown) => {
          if (!this.stopping) console.error(`collector: spans not forwarded upstream: ${describeError(err)}`)
        }
      )
    })
    // ExportTraceServiceResponse: an empty partial success means everything was accepted
    const partial =
      result.errorMessage != null
        ? { rejectedSpans: result.rejected, errorMessage: result.errorMessage }
        : undefined
    sendOtlp(res, 200, encodeTraceResponse(encoding, partial), encoding)
  }
}

const HEALTH_PATH = '/api/network-health'
