import { describeError } from '../errors.ts'
import { InvalidQueryError } from '../protocols/errors.ts'
import { searchQuerySchema } from '../protocols/messages.ts'
import { PACKAGE_ID, describeIssues } from '../package/schema.ts'
import { ATTR, OPERATION, SPAN } from '../telemetry/schema.ts'
import { elapsedMs, inSpan } from '../telemetry/tracing.ts'
import { latestKey } from './dht-records.ts'
import type { PackageCatalog, PackageEvent, SearchQuery } from '../catalog/catalog.ts'
import type { SearchBatch, SearchHit, SearchResult, SearchStream } from '../index.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { OperationOptions } from '../telemetry/tracing.ts'
import type { PackageDht } from './package-dht.ts'
import type { OnRecordsAdded } from './record-intake.ts'
import type { SearchFanOut } from './search-fanout.ts'
import type { Tracer } from '@opentelemetry/api'

export interface PackageSearchComponents {
  catalog: PackageCatalog
  fanOut: Pick<SearchFanOut, 'choosePeers' | 'query'>
  dht: Pick<PackageDht, 'lookup'>
  tracer: Tracer
}

/**
 * A search across the network: the local index at once, a parallel fan-out to the most reputable
 * peers, and the DHT for an exact id. `search` resolves with the final ranking; `stream` yields
 * the local results at once and then each answer as it arrives (one batch per answering peer,
 * and one for the DHT), so a slow peer never holds up what a fast one (the relay) already sent.
 */
export class PackageSearch {
  private readonly components: PackageSearchComponents

  constructor(components: PackageSearchComponents) {
    this.components = components
  }

  /** The whole search, ranked once every source answered or timed out. */
  async search(
    query: SearchQuery,
    options: OperationOptions = {},
    onBatch?: (batch: SearchBatch) => void
  ): Promise<SearchResult> {
    const { catalog, fanOut, dht, tracer } = this.components
    const parsed = searchQuerySchema.safeParse(query)
    if (!parsed.success) throw new InvalidQueryError(`invalid search query: ${describeIssues(parsed.error)}`)
    const q = parsed.data
    const attributes = {
      [ATTR.operation]: OPERATION.p2pSearch,
      [ATTR.queryText]: q.text,
      [ATTR.queryLimit]: q.limit ?? 20,
      [ATTR.categoryCount]: q.categories?.length ?? 0,
      [ATTR.tagCount]: q.tags?.length ?? 0
    }
    return await inSpan(tracer, SPAN.search, attributes, options.parent, async (span, parent) => {
      const start = performance.now()
      const hits = (records: PackageRecord[], sources: Map<string, Source>): SearchHit[] =>
        records.map(record => ({
          ...record,
          ...(sources.get(record.id) ?? { source: 'local' as const }),
          name: catalog.standing(record)
        }))
      // records this search brings in are remembered with where they came from;
      // everything else in the final ranking was already here
      const sources = new Map<string, Source>()
      // every version a batch has shown, so that the catalog watcher below does not show it again
      // (an answer's batch needs no such check: it holds only what that answer added)
      const shown = new Set<string>()
      const batch = (packages: SearchHit[], source: SearchBatch['source'], from?: string): void => {
        for (const p of packages) shown.add(`${p.id}@${p.version}`)
        // each batch is a span event: a trace shows when each source's results arrived
        span.addEvent('results', {
          [ATTR.source]: source,
          ...(from != null ? { [ATTR.peerId]: from } : {}),
          [ATTR.totalResults]: packages.length,
          [ATTR.latencyMs]: elapsedMs(start)
        })
        onBatch?.({ packages, source, ...(from != null ? { from } : {}) })
      }
      const remember: OnRecordsAdded = (records, source, from) => {
        for (const r of records) if (!sources.has(r.id)) sources.set(r.id, { source, from })
        if (onBatch == null) return
        // what this answer brought that matches the query, ranked as the whole search ranks it
        const brought = new Set(records.map(r => `${r.id}@${r.version}`))
        const matching = catalog.search(q).records.filter(r => brought.has(`${r.id}@${r.version}`))
        batch(hits(matching, sources), source, from)
      }
      batch(hits(catalog.search(q).records, sources), 'local')
      // what reaches the catalog during the search by other ways (a catalog sync with a new peer,
      // gossip) is in no answer: an answer only brings what is new here when it arrives
      const meanwhile =
        onBatch != null
          ? new Meanwhile(catalog, q, shown, records => batch(hits(records, sources), 'local'))
          : undefined

      let peersQueried: number
      try {
        const { available, peers } = await fanOut.choosePeers()
        peersQueried = peers.length
        span.setAttributes({ [ATTR.peerCount]: available, [ATTR.fanOut]: peers.length })
        const id = q.text.trim()
        // an exact id is also looked up in the DHT, unless this node or the
        // fan-out already has it (the DHT is the slowest source by far)
        const exact = PACKAGE_ID.test(id) && catalog.get(id) == null
        const dhtCancel = new AbortController()
        const lookup = exact
          ? dht.lookup(latestKey(id), {
              signal: AbortSignal.any([
                dhtCancel.signal,
                ...(options.signal != null ? [options.signal] : [])
              ]),
              onAdded: remember
            })
          : undefined
        await fanOut.query({ type: 'search', query: q }, peers, {
          parent,
          signal: options.signal,
          onAdded: remember
        })
        if (exact && catalog.get(id) != null) dhtCancel.abort()
        await lookup
      } finally {
        meanwhile?.close()
      }

      const packages = hits(catalog.search(q).records, sources)
      const localResults = packages.filter(p => p.source === 'local').length
      const result: SearchResult = {
        packages,
        localResults,
        dhtResults: packages.length - localResults,
        peersQueried,
        traceId: span.spanContext().traceId
      }
      span.setAttributes({
        [ATTR.localResults]: localResults,
        [ATTR.dhtResults]: result.dhtResults,
        [ATTR.totalResults]: packages.length,
        [ATTR.latencyMs]: elapsedMs(start)
      })
      return result
    })
  }

  /**
   * The search as it goes: the local results at once, then one batch per answering peer and one
   * for the DHT. Breaking out of the loop stops the search (its span ends as it does).
   */
  async *stream(query: SearchQuery, options: OperationOptions = {}): SearchStream {
    const stop = new AbortController()
    const signal = options.signal != null ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
    const queue: SearchBatch[] = []
    let wake: (() => void) | undefined
    let end: { err?: unknown } | undefined
    const run = this.search(query, { ...options, signal }, batch => {
      queue.push(batch)
      wake?.()
    }).then(
      () => {
        end = {}
      },
      (err: unknown) => {
        end = { err }
      }
    )
    void run.finally(() => wake?.())
    try {
      for (;;) {
        const next = queue.shift()
        if (next != null) {
          yield next
          continue
        }
        if (end != null) break
        await new Promise<void>(resolve => (wake = resolve))
        wake = undefined
      }
      if (end?.err !== undefined) throw end.err instanceof Error ? end.err : new Error(describeError(end.err))
    } finally {
      stop.abort()
      await run
    }
  }
}

interface Source {
  source: SearchHit['source']
  from?: string
}

/**
 * Watches a catalog during a streamed search for records that arrive by a catalog sync, gossip or
 * this node's own publish, and hands on those matching the query that no batch has shown. Arrivals
 * are checked together (a sync adds many records one after another): one ranked search per
 * {@link MEANWHILE_MS}, and one last on `close`.
 */
class Meanwhile {
  private readonly catalog: PackageCatalog
  private readonly query: SearchQuery
  private readonly shown: Set<string>
  private readonly onRecords: (records: PackageRecord[]) => void
  private readonly arrived = new Set<string>()
  private timer?: ReturnType<typeof setTimeout>

  constructor(
    catalog: PackageCatalog,
    query: SearchQuery,
    shown: Set<string>,
    onRecords: (records: PackageRecord[]) => void
  ) {
    this.catalog = catalog
    this.query = query
    this.shown = shown
    this.onRecords = onRecords
    catalog.addEventListener('package', this.onPackage)
  }

  /** Stops watching, after handing on what arrived since the last check. */
  close(): void {
    this.catalog.removeEventListener('package', this.onPackage)
    clearTimeout(this.timer)
    this.check()
  }

  private readonly onPackage = (evt: CustomEvent<PackageEvent>): void => {
    const { record, source } = evt.detail
    // the search's own answers (`peer`, `dht`) have their batches already
    if (source === 'peer' || source === 'dht') return
    this.arrived.add(`${record.id}@${record.version}`)
    this.timer ??= setTimeout(() => this.check(), MEANWHILE_MS)
  }

  private check(): void {
    this.timer = undefined
    if (this.arrived.size === 0) return
    const records = this.catalog
      .search(this.query)
      .records.filter(
        r => this.arrived.has(`${r.id}@${r.version}`) && !this.shown.has(`${r.id}@${r.version}`)
      )
    this.arrived.clear()
    if (records.length > 0) this.onRecords(records)
  }
}

/** How long arrivals during a streamed search gather before one check (ms). */
const MEANWHILE_MS = 25
