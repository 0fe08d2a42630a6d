import { describeError } from '../../src/core/errors.ts'
import { exportEncoding } from './collector-http.ts'
import { CollectorBusyError, HttpError } from './errors.ts'
import { checkUpstreamHeaders, redactSecrets } from './forwarder.ts'
import { CONTENT_TYPES } from './otlp-proto.ts'
import { readBody } from './read-body.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** The OTLP signals the collector does not keep. */
export type OtlpSignal = 'metrics' | 'logs'

export interface SignalProxyInit {
  /** The upstream's base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`): `/v1/metrics` and `/v1/logs` are appended. */
  endpoint: string
  /** `OTEL_EXPORTER_OTLP_HEADERS`; never in an answer, an error or a log line. */
  headers: Record<string, string>
  /** Time the upstream has to answer (`OTEL_EXPORTER_OTLP_TIMEOUT`). @default 10000 */
  timeoutMs?: number
  /** Bytes of one body, as sent (it is passed on as it came, gzip or not). @default 4 MiB */
  maxBodyBytes?: number
  /** Requests forwarded at once; beyond, 503 with Retry-After. @default 8 */
  maxPending?: number
}

/**
 * Passes OTLP/HTTP metrics and logs, which the embedded collector does not keep, on to the
 * upstream collector as they came (protobuf or JSON, gzip or not), with the upstream's headers,
 * and answers with what the upstream answered: its status, body and `Retry-After`.
 */
export class SignalProxy {
  private readonly init: Required<SignalProxyInit>
  private pending = 0

  constructor(init: SignalProxyInit) {
    checkUpstreamHeaders(init.headers)
    this.init = {
      timeoutMs: 10_000,
      maxBodyBytes: 4 * 1024 * 1024,
      maxPending: 8,
      ...init,
      endpoint: init.endpoint.replace(/\/+$/, '')
    }
  }

  /** Where `signal` goes upstream. */
  url(signal: OtlpSignal): string {
    return `${this.init.endpoint}/v1/${signal}`
  }

  /** Forwards one `POST /v1/<signal>`; throws the collector's named errors (415, 413, 503, 502, 504). */
  async forward(req: IncomingMessage, res: ServerResponse, signal: OtlpSignal): Promise<void> {
    const { encoding, gzip } = exportEncoding(req)
    if (this.pending >= this.init.maxPending)
      throw new CollectorBusyError(`${this.pending} requests are being forwarded upstream; retry in a second`)
    this.pending++
    try {
      const body = await readBody(req, this.init.maxBodyBytes, false)
      const url = this.url(signal)
      let response: Response
      let answer: Uint8Array
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': CONTENT_TYPES[encoding],
            ...this.init.headers,
            ...(gzip ? { 'Content-Encoding': 'gzip' } : {})
          },
          body: new Uint8Array(body),
          signal: AbortSignal.timeout(this.init.timeoutMs)
        })
        answer = new Uint8Array(await response.arrayBuffer())
      } catch (err) {
        if ((err as Error).name === 'TimeoutError')
          throw new HttpError(504, `the upstream collector did not answer within ${this.init.timeoutMs} ms`)
        const why = redactSecrets(describeError(err), this.init.headers, url)
        throw new HttpError(502, `the upstream collector could not be reached: ${why}`)
      }
      const retryAfter = response.headers.get('retry-after')
      res.writeHead(response.status, {
        'Content-Type': response.headers.get('content-type') ?? CONTENT_TYPES[encoding],
        ...(retryAfter != null ? { 'Retry-After': retryAfter } : {})
      })
      res.end(answer)
    } finally {
      this.pending--
    }
  }
}
