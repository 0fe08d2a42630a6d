import { DEFAULT_STREAM_LIMITS } from './limits.ts'
import type { StreamLimits } from './limits.ts'
import type { SpanBatch, SpanStore } from './span-store.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Bounds default to `DEFAULT_STREAM_LIMITS` (see `limits.ts`). */
export interface TraceStreamInit extends Partial<StreamLimits> {
  /** Comment line sent to every client this often, so proxies keep idle streams open. @default 15000 */
  keepAliveMs?: number
}

export interface TraceStreamStats {
  clients: number
  /** Clients refused (503) because `maxClients` were open. */
  refused: number
  /** Clients closed because they did not read what they were sent. */
  dropped: number
}

const KEEP_ALIVE = Buffer.from(': keep-alive\n\n')

/**
 * `GET /api/traces/stream`: server-sent events, one `spans` event per stored
 * batch (cut to `maxEventBytes`). Each batch is serialised once and the same
 * buffer is written to every client; a client whose socket still holds more than `maxBufferedBytes` when
 * the next event comes is closed (EventSource reconnects by itself), so a
 * client that never reads cannot make the relay buffer without end.
 */
export class TraceStream {
  readonly stats: TraceStreamStats = { clients: 0, refused: 0, dropped: 0 }
  private readonly clients = new Set<ServerResponse>()
  private readonly store: SpanStore
  private readonly limits: StreamLimits
  private readonly keepAliveMs: number
  private unsubscribe?: () => void
  private keepAlive?: NodeJS.Timeout

  constructor(store: SpanStore, init: TraceStreamInit = {}) {
    const { keepAliveMs, ...limits } = init
    this.store = store
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...limits }
    this.keepAliveMs = keepAliveMs ?? 15_000
  }

  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= this.limits.maxClients) {
      this.stats.refused++
      res.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '30' })
      res.end(JSON.stringify({ error: `${this.limits.maxClients} live streams are open; retry later` }))
      return
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive'
    })
    res.write(': connected\n\n')
    this.clients.add(res)
    this.stats.clients = this.clients.size
    if (this.unsubscribe == null) {
      this.unsubscribe = this.store.subscribe(batch => this.broadcast(batch))
      this.keepAlive = setInterval(() => this.writeAll(KEEP_ALIVE), this.keepAliveMs)
      this.keepAlive.unref()
    }
    req.once('close', () => this.remove(res))
    res.once('close', () => this.remove(res))
  }

  /** Closes every stream. */
  close(): void {
    for (const res of this.clients) res.destroy()
    this.clients.clear()
    this.idle()
  }

  private broadcast(batch: SpanBatch): void {
    if (this.clients.size === 0) return
    let size = 0
    let fit = 0
    // at least one span, however big (a stored span is at most maxSpanBytes)
    while (
      fit < batch.lines.length &&
      (fit === 0 || size + batch.lines[fit]!.length < this.limits.maxEventBytes)
    )
      size += batch.lines[fit++]!.length + 1
    const lines = fit === batch.lines.length ? batch.lines : batch.lines.slice(0, fit)
    this.writeAll(Buffer.from(`event: spans\ndata: [${lines.join(',')}]\n\n`))
  }

  private writeAll(frame: Buffer): void {
    for (const res of this.clients) {
      if (res.writableLength > this.limits.maxBufferedBytes) {
        this.stats.dropped++
        this.remove(res)
        res.destroy()
        continue
      }
      res.write(frame)
    }
  }

  private remove(res: ServerResponse): void {
    if (!this.clients.delete(res)) return
    this.stats.clients = this.clients.size
    if (this.clients.size === 0) this.idle()
  }

  private idle(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    clearInterval(this.keepAlive)
    this.keepAlive = undefined
    this.stats.clients = 0
  }
}
