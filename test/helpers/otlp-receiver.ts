import { createServer } from 'node:http'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { parseOtlpJson } from '../../relay/collector/otlp-json.ts'
import { decodeTraceRequest, encodeTraceResponse } from '../../relay/collector/otlp-proto.ts'
import type { StoredSpan } from '../../src/core/telemetry/collector-api.ts'
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'

const gunzipAsync = promisify(gunzip)

/** One request as it arrived: path, headers, body as sent (before gunzip). */
export interface ReceivedRequest {
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
  /** When its headers arrived (epoch ms). */
  at: number
  /** For a request held unanswered (`hold`): ms until the client gave up on it. */
  abandonedAfterMs?: number
}

/**
 * A plain OTLP/HTTP traces receiver on 127.0.0.1, standing in for an external
 * collector (Jaeger, an OpenTelemetry Collector) that tests can take down and
 * bring back: `POST /v1/traces` in protobuf or JSON, gzip or not, from any
 * origin (CORS, as a collector browsers export to must allow), everything it
 * received kept in `spans`, and every request as it came in `received`
 * (`/v1/metrics` and `/v1/logs` too, kept there only). `stop()` closes the port
 * (exporters get "connection refused"); `start()` listens again on the same
 * port, so the URL the exporters were given stays valid.
 */
export class OtlpReceiver {
  /** Every span received, in order of arrival (kept across stop/start). */
  readonly spans: StoredSpan[] = []
  /** Every request, in order of arrival. */
  readonly received: ReceivedRequest[] = []
  /** Export requests accepted. */
  requests = 0
  /** Requests to leave unanswered until their client gives up (a time-out). */
  hold = 0
  private server?: Server
  private _port = 0

  get port(): number {
    return this._port
  }

  /** Base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it. */
  get url(): string {
    return `http://127.0.0.1:${this._port}`
  }

  /** The traces URL, as an exporter (or `?otlp=`) takes it. */
  get tracesUrl(): string {
    return `${this.url}/v1/traces`
  }

  get listening(): boolean {
    return this.server?.listening === true
  }

  /** Listens on a free port the first time, on the same port afterwards. */
  async start(): Promise<void> {
    if (this.listening) return
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err))
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this._port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    this._port = typeof address === 'object' && address != null ? address.port : this._port
    this.server = server
  }

  /** Goes down: open connections are cut and the port refuses new ones. */
  async stop(): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  /** Spans of one trace. */
  trace(traceId: string): StoredSpan[] {
    return this.spans.filter(s => s.traceId === traceId)
  }

  /** Spans exported by one node (`service.instance.id`, the peer id), optionally received after `since` (epoch ms). */
  from(peerId: string, since = 0): StoredSpan[] {
    return this.spans.filter(s => s.resource['service.instance.id'] === peerId && s.receivedAt >= since)
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*')
    res.setHeader('Vary', 'Origin')
    const path = new URL(req.url ?? '/', 'http://receiver').pathname
    if (!['/v1/traces', '/v1/metrics', '/v1/logs'].includes(path)) {
      res.writeHead(404).end()
      return
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS')
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Content-Encoding')
      res.writeHead(204).end()
      return
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end()
      return
    }
    const at = Date.now()
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const request: ReceivedRequest = { path, headers: req.headers, body: Buffer.concat(chunks), at }
    this.received.push(request)
    if (this.hold > 0) {
      this.hold--
      res.once('close', () => (request.abandonedAfterMs = Date.now() - at))
      return
    }
    const protobuf = (req.headers['content-type'] ?? '').startsWith('application/x-protobuf')
    if (path === '/v1/traces') {
      let raw = request.body
      if ((req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') raw = await gunzipAsync(raw)
      this.spans.push(...parseOtlpJson(protobuf ? decodeTraceRequest(raw) : JSON.parse(raw.toString('utf8'))))
      this.requests++
    }
    res
      .writeHead(200, { 'Content-Type': protobuf ? 'application/x-protobuf' : 'application/json' })
      .end(encodeTraceResponse(protobuf ? 'protobuf' : 'json'))
  }
}
