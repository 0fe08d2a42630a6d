import { CollectorClient } from './collector-client.ts'
import type { ReactiveController, ReactiveControllerHost } from 'lit'

/** A component that shows what a relay's collector holds. */
export interface CollectorHost extends ReactiveControllerHost {
  /** HTTP origin of the relay whose collector to read. */
  relay: string
}

/** What a load or an attempt gets: its signal aborts when the host leaves the page. */
export interface CollectorLoadOptions {
  signal: AbortSignal
}

export interface CollectorControllerInit {
  /**
   * Reads what the host shows. Runs when the host connects, after spans arrive,
   * every `everyMs` and on `refresh()`; never two at once.
   */
  load: (options: CollectorLoadOptions) => Promise<void>
  /**
   * How long to gather a burst of spans into one load.
   *
   * @default 1000
   */
  coalesceMs?: number
  /** Load this often even when no span arrives (say, a time window that slides); never by default. */
  everyMs?: number
}

/** The first wait of `retry()`, doubled after each miss up to `RETRY_MAX_MS`. */
export const RETRY_FIRST_MS = 1000
export const RETRY_MAX_MS = 30_000

/**
 * A component's live link to a relay's collector: while the host is on the
 * page it listens to the collector's span stream (one shared connection per
 * relay), turns each burst of spans into one `load`, and retries what is not
 * there yet with a growing wait. When the host leaves the page, the stream,
 * the timers, the retry and any request under way all stop.
 */
export class CollectorController implements ReactiveController {
  private readonly host: CollectorHost
  private readonly init: CollectorControllerInit
  /** Set while the host is connected; aborted when it leaves. */
  private abort?: AbortController
  private relay?: string
  private unsubscribe?: () => void
  private timer?: ReturnType<typeof setTimeout>
  private interval?: ReturnType<typeof setInterval>
  private loading = false
  private loadAgain = false
  private retrying?: object
  private retryTimer?: ReturnType<typeof setTimeout>

  constructor(host: CollectorHost, init: CollectorControllerInit) {
    this.host = host
    this.init = init
    host.addController(this)
  }

  /** The client of the host's relay. */
  get collector(): CollectorClient {
    return CollectorClient.for(this.relay ?? this.host.relay)
  }

  hostConnected(): void {
    this.relay = this.host.relay
    this.abort = new AbortController()
    const coalesceMs = this.init.coalesceMs ?? 1000
    this.unsubscribe = this.collector.subscribe(() => this.refresh(coalesceMs))
    if (this.init.everyMs != null)
      this.interval = setInterval(() => this.refresh(coalesceMs), this.init.everyMs)
    this.refresh()
  }

  hostDisconnected(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    clearInterval(this.interval)
    clearTimeout(this.timer)
    this.timer = undefined
    this.stopRetry()
    this.abort?.abort()
    this.abort = undefined
    this.relay = undefined
  }

  /** A new `relay` on a connected host: read that relay's collector from now on. */
  hostUpdate(): void {
    if (this.relay == null || this.host.relay === this.relay) return
    this.hostDisconnected()
    this.hostConnected()
  }

  /**
   * Loads in `delayMs` (0: now); calls made before then join that load, so a
   * burst of calls costs one request. Nothing happens while the host is off the page.
   */
  refresh(delayMs = 0): void {
    if (this.abort == null) return
    if (this.timer != null) {
      if (delayMs > 0) return
      clearTimeout(this.timer)
    }
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.run()
    }, delayMs)
  }

  /**
   * Runs `attempt` until it resolves `true` (or the host leaves the page),
   * waiting `RETRY_FIRST_MS`, then twice as long after each miss, up to
   * `RETRY_MAX_MS`. A rejection counts as a miss. Replaces the retry before.
   */
  retry(attempt: (options: CollectorLoadOptions) => Promise<boolean>): void {
    this.stopRetry()
    const abort = this.abort
    if (abort == null) return
    const token = {}
    this.retrying = token
    let waitMs = RETRY_FIRST_MS
    const once = (): void => {
      attempt({ signal: abort.signal })
        // a failed attempt is the reason to retry: the component shows its own error
        .catch(() => false)
        .then(done => {
          if (done || this.retrying !== token) return
          this.retryTimer = setTimeout(once, waitMs)
          waitMs = Math.min(waitMs * 2, RETRY_MAX_MS)
        })
        .catch((err: unknown) => console.warn('collector retry failed', err))
    }
    once()
  }

  private stopRetry(): void {
    this.retrying = undefined
    clearTimeout(this.retryTimer)
  }

  private async run(): Promise<void> {
    const abort = this.abort
    if (abort == null) return
    if (this.loading) {
      this.loadAgain = true
      return
    }
    this.loading = true
    try {
      await this.init.load({ signal: abort.signal })
    } catch (err) {
      if (!abort.signal.aborted) console.warn('loading from the collector failed', err)
    } finally {
      this.loading = false
      if (this.loadAgain) {
        this.loadAgain = false
        this.refresh()
      }
    }
  }
}
