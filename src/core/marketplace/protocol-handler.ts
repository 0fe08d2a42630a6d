import { RateLimiter } from '@libp2p/utils'
import { describeIssues } from '../package/schema.ts'
import { ProtocolError } from '../protocols/errors.ts'
import { handleJson } from '../protocols/json-stream.ts'
import {
  PROTOCOL_LIMITS,
  SEARCH_PROTOCOL,
  SYNC_PROTOCOL,
  requestOverLimit,
  requestSchema
} from '../protocols/messages.ts'
import { ATTR, EXTRA_SPAN } from '../telemetry/schema.ts'
import { contextFrom } from '../telemetry/tracing.ts'
import type { PackageCatalog } from '../catalog/catalog.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Tracer } from '@opentelemetry/api'

export interface ProtocolHandlerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  catalog: Pick<PackageCatalog, 'search' | 'listVersions' | 'get' | 'since' | 'epoch'>
  tracer: Tracer
}

/** The protocols this node answers; each takes every request type. */
const PROTOCOLS = [SEARCH_PROTOCOL, SYNC_PROTOCOL]

/**
 * What one peer may ask per second (PROTOCOL.md §6): a budget of 200 points, a search costing 5
 * (a full-text search of the whole catalog), a versions or sync request 1 (a lookup, a page): 40
 * searches or 200 sync pages (20 000 records) a second. Past it, requests are answered
 * `rate-limited`.
 */
export const REQUEST_BUDGET = { pointsPerSecond: 200, search: 5, versions: 1, sync: 1 } as const

/**
 * The answering side of the search and sync protocols (PROTOCOL.md §6), from
 * this node's catalog: search, versions and sync requests, each answer in a
 * `handle_peer_query` span that joins the asker's trace.
 */
export class ProtocolHandler {
  private readonly libp2p: ProtocolHandlerComponents['libp2p']
  private readonly catalog: ProtocolHandlerComponents['catalog']
  private readonly tracer: Tracer
  private readonly budget = new RateLimiter({ points: REQUEST_BUDGET.pointsPerSecond, duration: 1 })

  constructor(components: ProtocolHandlerComponents) {
    this.libp2p = components.libp2p
    this.catalog = components.catalog
    this.tracer = components.tracer
  }

  async start(): Promise<void> {
    for (const protocol of PROTOCOLS) {
      await handleJson(
        this.libp2p,
        protocol,
        PROTOCOL_LIMITS,
        async (request, from) => await this.answer(request, from)
      )
    }
  }

  async stop(): Promise<void> {
    // throws only when libp2p already stopped, which unregistered the handlers anyway
    await this.libp2p.unhandle(PROTOCOLS).catch(() => {})
  }

  private answer(request: unknown, from: PeerId): Promise<unknown> {
    // fields past their limits first: each named with its limit, answered `too-large`
    const over = requestOverLimit(request)
    if (over.length > 0) throw new ProtocolError('too-large', over.join('; '))
    const parsed = requestSchema.safeParse(request)
    if (!parsed.success) throw new ProtocolError('bad-request', describeIssues(parsed.error))
    const req = parsed.data
    try {
      this.budget.consume(from.toString(), REQUEST_BUDGET[req.type])
    } catch (err) {
      const waitMs = (err as { msBeforeNext?: number }).msBeforeNext ?? 1000
      throw new ProtocolError(
        'rate-limited',
        `more than ${REQUEST_BUDGET.pointsPerSecond} request points a second from this peer (a search costs ${REQUEST_BUDGET.search}); ask again in ${waitMs} ms`
      )
    }
    // the asker's span is our parent: one search is one trace across peers
    const span = this.tracer.startSpan(
      EXTRA_SPAN.handlePeerQuery,
      {
        attributes: {
          [ATTR.operation]: EXTRA_SPAN.handlePeerQuery,
          [ATTR.peerId]: from.toString(),
          [ATTR.requestType]: req.type
        }
      },
      contextFrom(req.traceparent)
    )
    let answer: { records: unknown[]; [more: string]: unknown }
    switch (req.type) {
      case 'search':
        answer = { records: this.catalog.search(req.query).records }
        break
      case 'versions':
        answer = { records: this.catalog.listVersions(req.id).map(v => this.catalog.get(req.id, v)) }
        break
      case 'sync':
        answer = { ...this.catalog.since(req.cursor, req.limit), epoch: this.catalog.epoch }
        break
    }
    span.setAttribute(ATTR.resultCount, answer.records.length)
    span.end()
    return Promise.resolve(answer)
  }
}
