import type { NetworkHealth, StoredSpan, TraceSummary } from '../core/telemetry/collector-api.ts'
import { CollectorError } from './errors.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Lets a caller cancel a request, e.g. when its component leaves the page. */
export type CollectorRequestOptions = AbortOptions

/**
 * The UI's access to a relay's embedded collector: its query API and one
 * shared live stream (server-sent events) per relay, however many panels
 * listen, so a page keeps a single long-lived connection to the relay.
 */
export class CollectorClient {
  readonly baseUrl: string
  private source?: EventSource
  private readonly listeners = new Set<(spans: StoredSpan[]) => void>()

  private static readonly clients = new Map<string, CollectorClient>()

  /** The client of the relay at `baseUrl` (one per relay per page). */
  static for(baseUrl: string): CollectorClient {
    const key = new URL(baseUrl).origin
    let client = CollectorClient.clients.get(key)
    if (client == null) CollectorClient.clients.set(key, (client = new CollectorClient(key)))
    return client
  }

  private constructor(baseUrl: string) {
    this.baseUrl = baseUrl
  }

  /** Newest traces first; `params` are the query API's (`operation`, `name`, `limit`, `attr.*`). */
  async traces(
    params: Record<string, string> = {},
    options: CollectorRequestOptions = {}
  ): Promise<TraceSummary[]> {
    return (await this.get<{ traces: TraceSummary[] }>('/api/traces', params, options)).traces
  }

  /** The spans of one trace; empty while none has arrived yet. */
  async trace(traceId: string, options: CollectorRequestOptions = {}): Promise<StoredSpan[]> {
    try {
      const path = `/api/traces/${encodeURIComponent(traceId)}`
      return (await this.get<{ spans: StoredSpan[] }>(path, {}, options)).spans
    } catch (err) {
      if (err instanceof CollectorError && err.status === 404) return []
      throw err
    }
  }

  async networkHealth(
    windowMs: number,
    bucketMs: number,
    options: CollectorRequestOptions = {}
  ): Promise<NetworkHealth> {
    const params = { windowMs: String(windowMs), bucketMs: String(bucketMs) }
    return await this.get<NetworkHealth>('/api/network-health', params, options)
  }

  /** Calls `listener` with every batch of spans the collector receives; returns the unsubscribe. */
  subscribe(listener: (spans: StoredSpan[]) => void): () => void {
    this.listeners.add(listener)
    if (this.source == null) {
      // EventSource reconnects by itself after the relay restarts
      this.source = new EventSource(new URL('/api/traces/stream', this.baseUrl))
      this.source.addEventListener('spans', (event: MessageEvent<string>) => {
        let spans: StoredSpan[]
        try {
          spans = JSON.parse(event.data) as StoredSpan[]
        } catch {
          return
        }
        for (const l of this.listeners) l(spans)
      })
    }
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) {
        this.source?.close()
        this.source = undefined
      }
    }
  }

  private async get<T>(
    path: string,
    params: Record<string, string>,
    { signal }: CollectorRequestOptions
  ): Promise<T> {
    const url = new URL(path, this.baseUrl)
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    let res: Response
    try {
      res = await fetch(url, signal != null ? { signal } : {})
    } catch (err) {
      // a cancelled request is the caller's doing, not an unreachable collector
      if (signal?.aborted === true) throw err
      throw new CollectorError(0, `the collector at ${this.baseUrl} is unreachable (${String(err)})`)
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: string }
      throw new CollectorError(res.status, body.error ?? `the collector answered ${res.status}`)
    }
    return (await res.json()) as T
  }
}

/** The relay this page talks to: `?relay=<http origin>` or the page's own origin. */
export function defaultRelayUrl(): string {
  return new URLSearchParams(location.search).get('relay') ?? location.origin
}

export { CollectorError }
