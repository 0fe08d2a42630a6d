import { Backoff, sleep } from '../../src/core/backoff.ts'
import { describeError } from '../../src/core/errors.ts'

export interface ForwarderInit {
  /** Upstream OTLP/HTTP traces URL. */
  url: string
  /** e.g. an API key; never sent to browsers. */
  headers: Record<string, string>
  /** Bytes of requests kept while the upstream is unreachable; the oldest go first. @default 8 MiB */
  maxQueueBytes?: number
}

export interface ForwarderStats {
  queued: number
  sent: number
  dropped: number
  failures: number
  lastError?: string
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
  private readonly controller = new AbortController()
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 })

  constructor(init: ForwarderInit) {
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
        this.stats.lastError = describeError(err)
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
      await response.arrayBuffer().catch(() => undefined)
      if (response.ok) return 'sent'
      this.stats.lastError = `upstream answered HTTP ${response.status}`
      return response.status === 429 || response.status >= 500 ? 'retry' : 'rejected'
    } catch (err) {
      this.stats.lastError = describeError(err)
      return 'retry'
    }
  }
}
