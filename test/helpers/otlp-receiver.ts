import { createServer } from 'node:http'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { parseOtlpJson } from '../../relay/collector/otlp-json.ts'
import type { StoredSpan } from '../../src/core/telemetry/collector-api.ts'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'

const gunzipAsync = promisify(gunzip)

/**
 * A plain OTLP/HTTP JSON traces receiver on 127.0.0.1, standing in for an
 * external collector (Jaeger, an OpenTelemetry Collector) that tests can take
 * down and bring back: `POST /v1/traces` from any origin (CORS, as a collector
 * browsers export to must allow), everything it received kept in `spans`.
 * `stop()` closes the port (exporters get "connection refused"); `start()`
 * listens again on the same port, so the URL the exporters were given stays valid.
 */
export class OtlpReceiver {
  /** Every span received, in order of arrival (kept across stop/start). */
  readonly spans: StoredSpan[] = []
  /** Export requests accepted. */
  requests = 0
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
    if (path !== '/v1/traces') {
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
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let raw: Buffer = Buffer.concat(chunks)
    if ((req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') raw = await gunzipAsync(raw)
    const spans = parseOtlpJson(JSON.parse(raw.toString('utf8')))
    this.spans.push(...spans)
    this.requests++
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')
  }
}
