import { Backoff, sleep } from '../../src/core/network/backoff.ts'
import { describeError } from '../../src/core/errors.ts'
import { InvalidUpstreamHeaderError } from './errors.ts'

export interface ForwarderInit {
  /** Upstream OTLP/HTTP traces URL. */
  url: string
  /** e.g. an API key; never sent to browsers, never in an error, a log line or `/healthz`. */
  headers: Record<string, string>
  /** Bytes of requests kept while the upstream is unreachable; the oldest go first. @default 8 MiB */
  maxQueueBytes?: number
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
 * Forwards OTLP/JSON requests to the upstream collector one at a time, with
 * retry and backoff on network errors, 429 and 5xx, and a bounded queue, so
 * browsers export to their relay and no credential or CORS setup reaches them.
 */
export class UpstreamForwarder {
  readonly stats: ForwarderStats = { queued: 0, sent: 0, dropped: 0, failures: 0 }
  private readonly init: Required<ForwarderInit>
  private readonly queue: Uint8Array[] = []
  private queueBytes = 0
  private pumping = false
  private failing = false
  private readonly controller = new AbortController()
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 })

  constructor(init: ForwarderInit) {
    checkUpstreamHeaders(init.headers)
    this.init = { maxQueueBytes: 8 * 1024 * 1024, ...init }
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
          // sleep rejects only when stop() aborts it, which the loop's condition then sees: nothing is lost
          await sleep(this.backoff.fail(), this.controller.signal).catch(() => {})
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
    try {
      const response = await fetch(this.init.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...this.init.headers },
        body: new Uint8Array(body),
        signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(10_000)])
      })
      // read only to free the connection: the status decides, so a body that fails to arrive loses nothing
      await response.arrayBuffer().catch(() => undefined)
      if (response.ok) {
        this.failing = false
        return 'sent'
      }
      this.fail(`upstream answered HTTP ${response.status}`)
      return response.status === 429 || response.status >= 500 ? 'retry' : 'rejected'
    } catch (err) {
      this.fail(err)
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
