import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { Backoff, sleep } from '../../src/core/network/backoff.ts'
import { describeError } from '../../src/core/errors.ts'
import { InvalidUpstreamHeaderError } from './errors.ts'
import { CONTENT_TYPES } from './otlp-proto.ts'
import type { OtlpEncoding } from './otlp-proto.ts'

const gzipAsync = promisify(gzip)

/** `OTEL_EXPORTER_OTLP_PROTOCOL` values the relay speaks (gRPC it does not). */
export type OtlpHttpProtocol = 'http/protobuf' | 'http/json'
/** `OTEL_EXPORTER_OTLP_COMPRESSION` values. */
export type OtlpCompression = 'gzip' | 'none'

export interface ForwarderInit {
  /** Upstream OTLP/HTTP traces URL. */
  url: string
  /** e.g. an API key; never sent to browsers, never in an error, a log line or `/healthz`. */
  headers: Record<string, string>
  /** Bytes of requests kept while the upstream is unreachable; the oldest go first. @default 8 MiB */
  maxQueueBytes?: number
  /** How requests are encoded (the bodies given to `enqueue` are). @default 'http/protobuf', the spec's */
  protocol?: OtlpHttpProtocol
  /** `gzip` compresses each request as it is sent. @default 'none' */
  compression?: OtlpCompression
  /** Time one request may take, answer included. @default 10000 */
  timeoutMs?: number
}

export interface ForwarderStats {
  queued: number
  sent: number
  dropped: number
  failures: number
  /** The last failure, header values (credentials) replaced by `[redacted]`. */
  lastError?: string
}

/** RFC 9110 field name: a token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** RFC 9110 field value: visible characters, spaces and tabs (and obs-text); no control character. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
/** Longest wait a `Retry-After` from the upstream can ask for, in ms. */
const MAX_RETRY_AFTER_MS = 300_000
/** Shorter values are not credentials, and redacting them would mangle every message. */
const MIN_REDACTED_LENGTH = 4

/**
 * Throws `InvalidUpstreamHeaderError` for a header `fetch` would refuse to
 * send. The message names the header, never its value: a value is typically
 * a credential, and a refused one would otherwise end up in an error.
 */
export function checkUpstreamHeaders(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name))
      throw new InvalidUpstreamHeaderError(
        `header name "${name.replace(/[^\x20-\x7e]/g, '?')}" is not a valid HTTP header name`
      )
    if (!HEADER_VALUE.test(value))
      throw new InvalidUpstreamHeaderError(
        `the value of header "${name}" contains a control or non-Latin-1 character (value not shown)`
      )
  }
}

/** `text` with every credential-looking part of `headers` and of `url` replaced by `[redacted]`. */
export function redactSecrets(text: string, headers: Record<string, string>, url?: string): string {
  const secrets = new Set<string>()
  for (const value of Object.values(headers)) {
    const trimmed = value.trim()
    if (trimmed.length < MIN_REDACTED_LENGTH) continue
    // as sent, URL-encoded (how OTEL_EXPORTER_OTLP_HEADERS spells it) and JSON-escaped (how errors quote it)
    secrets.add(trimmed).add(encodeURIComponent(trimmed)).add(JSON.stringify(trimmed).slice(1, -1))
  }
  if (url != null) {
    try {
      const { username, password, searchParams } = new URL(url)
      for (const part of [username, password, ...searchParams.values()])
        if (part.length >= MIN_REDACTED_LENGTH) secrets.add(part).add(decodeURIComponent(part))
    } catch {
      // not a URL: nothing in it to hide
    }
  }
  let out = text
  // longest first, so a secret containing another is replaced whole
  for (const secret of [...secrets].sort((a, b) => b.length - a.length))
    out = out.split(secret).join('[redacted]')
  return out
}

/**
 * Forwards OTLP requests (protobuf or JSON, as `protocol` says; gzip when asked) to the upstream
 * collector one at a time, with retry and backoff on network errors, time-outs, 429 and 5xx
 * (waiting at least what a `Retry-After` asks), and a bounded queue, so browsers export to their
 * relay and no credential or CORS setup reaches them.
 */
export class UpstreamForwarder {
  readonly stats: ForwarderStats = { queued: 0, sent: 0, dropped: 0, failures: 0 }
  /** The encoding of the bodies `enqueue` takes. */
  readonly encoding: OtlpEncoding
  private readonly init: Required<ForwarderInit>
  private readonly queue: Uint8Array[] = []
  private queueBytes = 0
  private pumping = false
  private failing = false
  private readonly controller = new AbortController()
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 })
  /** What the upstream's last `Retry-After` asked for, in ms. */
  private retryAfterMs = 0

  constructor(init: ForwarderInit) {
    checkUpstreamHeaders(init.headers)
    this.init = {
      maxQueueBytes: 8 * 1024 * 1024,
      protocol: 'http/protobuf',
      compression: 'none',
      timeoutMs: 10_000,
      ...init
    }
    this.encoding = this.init.protocol === 'http/json' ? 'json' : 'protobuf'
  }

  enqueue(body: Uint8Array): void {
    this.queue.push(body)
    this.queueBytes += body.byteLength
    while (this.queueBytes > this.init.maxQueueBytes && this.queue.length > 1) {
      this.queueBytes -= this.queue.shift()?.byteLength ?? 0
      this.stats.dropped++
    }
    this.stats.queued = this.queue.length
    if (!this.pumping) {
      this.pump().catch(err => {
        this.fail(err)
      })
    }
  }

  stop(): void {
    this.controller.abort()
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      while (this.queue.length > 0 && !this.controller.signal.aborted) {
        const body = this.queue[0]!
        const outcome = await this.send(body)
        if (outcome === 'retry') {
          this.stats.failures++
          const wait = Math.max(this.backoff.fail(), this.retryAfterMs)
          // sleep rejects only when stop() aborts it, which the loop's condition then sees: nothing is lost
          await sleep(wait, this.controller.signal).catch(() => {})
          continue
        }
        this.backoff.reset()
        this.queue.shift()
        this.queueBytes -= body.byteLength
        if (outcome === 'sent') this.stats.sent++
        else this.stats.dropped++
        this.stats.queued = this.queue.length
      }
    } finally {
      this.pumping = false
    }
  }

  private async send(body: Uint8Array): Promise<'sent' | 'retry' | 'rejected'> {
    this.retryAfterMs = 0
    try {
      const gzipped = this.init.compression === 'gzip'
      const response = await fetch(this.init.url, {
        method: 'POST',
        headers: {
          'Content-Type': CONTENT_TYPES[this.encoding],
          ...this.init.headers,
          ...(gzipped ? { 'Content-Encoding': 'gzip' } : {})
        },
        body: gzipped ? new Uint8Array(await gzipAsync(body)) : new Uint8Array(body),
        signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.timeoutMs)])
      })
      // read only to free the connection: the status decides, so a body that fails to arrive loses nothing
      await response.arrayBuffer().catch(() => undefined)
      if (response.ok) {
        this.failing = false
        return 'sent'
      }
      this.fail(`upstream answered HTTP ${response.status}`)
      if (response.status !== 429 && response.status < 500) return 'rejected'
      this.retryAfterMs = retryAfter(response.headers.get('retry-after'))
      return 'retry'
    } catch (err) {
      // stop() aborted it: the relay is going away and the loop ends on seeing it, nothing to report
      if (this.controller.signal.aborted) return 'retry'
      this.fail(
        (err as Error).name === 'TimeoutError'
          ? `upstream did not answer within ${this.init.timeoutMs} ms (the OTLP export timeout)`
          : err
      )
      return 'retry'
    }
  }

  /** Records a failure; the only way anything about the upstream reaches `stats` or the log. */
  private fail(err: unknown): void {
    this.stats.lastError = redactSecrets(describeError(err), this.init.headers, this.init.url)
    // one line per outage, not one per retry
    if (!this.failing) console.error(`collector: forwarding upstream failed: ${this.stats.lastError}`)
    this.failing = true
  }
}

/** A `Retry-After` (seconds or an HTTP date) in ms, at most `MAX_RETRY_AFTER_MS`; 0 when absent or unreadable. */
function retryAfter(value: string | null): number {
  if (value == null) return 0
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now()
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : 0
}
