import { TopicValidatorResult } from '@libp2p/gossipsub'
import { Key } from 'interface-datastore'
import { fromString, toString } from 'uint8arrays'
import { withTimeout } from './backoff.ts'
import { PACKAGES_TOPIC } from './constants.ts'
import { latestKey, versionKey } from './dht-records.ts'
import { describeError } from './errors.ts'
import { encodeRecord, signRecord, verifyRecord } from './package/record.ts'
import { LIMITS, PACKAGE_ID, fieldIssues, parseManifest } from './package/schema.ts'
import { ProtocolError, handleJson, requestJson } from './protocols/json-stream.ts'
import {
  InvalidQueryError,
  PROTOCOL_LIMITS,
  SEARCH_PROTOCOL,
  SYNC_PROTOCOL,
  recordsAnswerSchema,
  requestSchema,
  searchQuerySchema,
  syncAnswerSchema
} from './protocols/messages.ts'
import { ATTR, EXTRA_SPAN, OPERATION, SPAN } from './telemetry/schema.ts'
import { contextFrom, elapsedMs, failSpan, globalTracer, inSpan, traceparentOf } from './telemetry/tracing.ts'
import type { PackageCatalog, RecordSource, SearchQuery } from './catalog/catalog.ts'
import type { PackageRecord } from './package/schema.ts'
import type { ReputationBook } from './reputation.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, Logger, PeerId, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { trace } from '@opentelemetry/api'
import type { Context, Tracer } from '@opentelemetry/api'
import type { Datastore } from 'interface-datastore'

export interface PublishResult {
  id: string
  version: string
  /** At least one DHT server acknowledged storing the record. */
  dhtStored: boolean
  /** The gossip announcement reached at least one peer. */
  announced: boolean
  traceId: string
}

export type SearchHit = PackageRecord & { source: 'local' | 'peer' | 'dht'; from?: string }

export interface SearchResult {
  packages: SearchHit[]
  /** Results this node already had. */
  localResults: number
  /** Results that arrived from peers or the DHT during this search. */
  dhtResults: number
  /** Number of peers asked (the fan-out). */
  peersQueried: number
  traceId: string
}

export interface MarketplaceServiceInit {
  /** Peers asked in parallel per search. @default 3 */
  fanOut?: number
  /** A search stops waiting once this many peers answered. @default 2 */
  enoughAnswers?: number
  /** Per-peer timeout of a search request, ms. @default 2000 */
  peerTimeoutMs?: number
  /** Timeout of a DHT lookup or store, ms. @default 5000 */
  dhtTimeoutMs?: number
  /** After the first peer answered, how long (ms) a search still waits for the others. @default 150 */
  graceMs?: number
  /** A peer is synced with at most this often, ms. @default 30000 */
  resyncAfterMs?: number
}

export interface MarketplaceServiceComponents {
  libp2p: Libp2p<{ pubsub: GossipSub; dht: KadDHT }>
  catalog: PackageCatalog
  reputation: ReputationBook
  datastore: Datastore
  /** The publisher key; a node without one (the relay) cannot publish. */
  privateKey?: PrivateKey
  log: Logger
  /** @default the global tracer */
  tracer?: Tracer
}

/** A verified gossip announcement. */
interface GossipAnnouncement {
  record: PackageRecord
  traceparent?: string
}

/** What a peer's answer amounted to. */
interface Intake {
  added: PackageRecord[]
  known: number
  invalid: number
  firstError?: string
}

/**
 * The marketplace on top of libp2p: publishing signed records (local store,
 * DHT, gossip), searching (local index, parallel fan-out to reputable peers,
 * DHT by exact id), catalog sync with every peer that speaks it, and the
 * protocol handlers that answer other peers. Runs in tabs and on the relay.
 */
export class MarketplaceService {
  private readonly libp2p: MarketplaceServiceComponents['libp2p']
  private readonly catalog: PackageCatalog
  private readonly reputation: ReputationBook
  private readonly datastore: Datastore
  private readonly privateKey?: PrivateKey
  private readonly log: Logger
  private readonly tracer: Tracer
  private readonly fanOut: number
  private readonly enoughAnswers: number
  private readonly peerTimeoutMs: number
  private readonly dhtTimeoutMs: number
  private readonly graceMs: number
  private readonly resyncAfterMs: number
  private readonly lastSync = new Map<string, number>()
  private readonly syncing = new Set<string>()

  constructor(components: MarketplaceServiceComponents, init: MarketplaceServiceInit = {}) {
    this.libp2p = components.libp2p
    this.catalog = components.catalog
    this.reputation = components.reputation
    this.datastore = components.datastore
    this.privateKey = components.privateKey
    this.log = components.log
    this.tracer = components.tracer ?? globalTracer()
    this.fanOut = init.fanOut ?? 3
    this.enoughAnswers = init.enoughAnswers ?? 2
    this.peerTimeoutMs = init.peerTimeoutMs ?? 2_000
    this.dhtTimeoutMs = init.dhtTimeoutMs ?? 5_000
    this.graceMs = init.graceMs ?? 150
    this.resyncAfterMs = init.resyncAfterMs ?? 30_000
  }

  async start(): Promise<void> {
    const pubsub = this.libp2p.services.pubsub
    pubsub.topicValidators.set(PACKAGES_TOPIC, this.validateGossip)
    pubsub.addEventListener('message', this.onGossip)
    pubsub.subscribe(PACKAGES_TOPIC)
    await handleJson(
      this.libp2p,
      SEARCH_PROTOCOL,
      PROTOCOL_LIMITS,
      async (request, from) => await this.answer(request, from)
    )
    await handleJson(
      this.libp2p,
      SYNC_PROTOCOL,
      PROTOCOL_LIMITS,
      async (request, from) => await this.answer(request, from)
    )
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
  }

  async stop(): Promise<void> {
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.libp2p.services.pubsub.removeEventListener('message', this.onGossip)
    this.libp2p.services.pubsub.topicValidators.delete(PACKAGES_TOPIC)
    await this.libp2p.unhandle([SEARCH_PROTOCOL, SYNC_PROTOCOL]).catch(() => {})
    await this.reputation.flush()
  }

  // ---------------------------------------------------------------- publish

  async publish(manifest: unknown, options: { signal?: AbortSignal } = {}): Promise<PublishResult> {
    const key = this.privateKey
    if (key == null) throw new Error('this node has no publisher key')
    return await inSpan(
      this.tracer,
      SPAN.publish,
      { [ATTR.operation]: OPERATION.publish, [ATTR.peerId]: this.libp2p.peerId.toString() },
      undefined,
      async (span, ctx) => {
        const start = performance.now()
        // everything that can refuse the publish runs before anything is stored
        const valid = parseManifest(manifest)
        span.setAttributes({ [ATTR.packageId]: valid.id, [ATTR.packageVersion]: valid.version })
        const record = await signRecord(valid, key)
        this.catalog.check(record)
        options.signal?.throwIfAborted()

        await this.catalog.add(record, 'local')
        const [dhtStored, announced] = await Promise.all([
          this.storeInDht(record, ctx, options.signal),
          this.announce(record, ctx)
        ])
        span.setAttributes({
          [ATTR.dhtStorageSuccess]: dhtStored,
          [ATTR.gossipsubSuccess]: announced,
          [ATTR.latencyMs]: elapsedMs(start)
        })
        return {
          id: record.id,
          version: record.version,
          dhtStored,
          announced,
          traceId: span.spanContext().traceId
        }
      }
    )
  }

  /** Puts the record under its version key and its latest key; true when a DHT server acknowledged it. */
  private async storeInDht(record: PackageRecord, parent: Context, signal?: AbortSignal): Promise<boolean> {
    const value = encodeRecord(record)
    const span = this.tracer.startSpan(
      SPAN.storeInDht,
      {
        attributes: {
          [ATTR.operation]: OPERATION.dhtPut,
          [ATTR.packageId]: record.id,
          [ATTR.peerId]: this.libp2p.peerId.toString(),
          [ATTR.recordSizeBytes]: value.byteLength
        }
      },
      parent
    )
    const start = performance.now()
    let acknowledged = 0
    const errors: string[] = []
    try {
      await withTimeout(
        this.dhtTimeoutMs,
        async timeoutSignal => {
          await Promise.all(
            [versionKey(record.id, record.version), latestKey(record.id)].map(async key => {
              // kad-dht neither validates before put nor throws when every peer refuses:
              // we validated above, and count the servers that acknowledged
              for await (const event of this.libp2p.services.dht.put(fromString(key), value, {
                signal: timeoutSignal
              })) {
                if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') acknowledged++
                if (event.name === 'QUERY_ERROR') errors.push(describeError(event.error))
              }
            })
          )
        },
        signal
      )
    } catch (err) {
      errors.push(describeError(err))
    }
    span.setAttributes({ [ATTR.latencyMs]: elapsedMs(start), [ATTR.successfulResponses]: acknowledged })
    if (acknowledged === 0) failSpan(span, errors[0] ?? 'no DHT server acknowledged the record')
    span.end()
    return acknowledged > 0
  }

  /** Announces the record on the gossip topic; true when it reached at least one peer. */
  private async announce(record: PackageRecord, parent: Context): Promise<boolean> {
    const span = this.tracer.startSpan(
      SPAN.announcePackage,
      {
        attributes: {
          [ATTR.operation]: OPERATION.gossipsubPublish,
          [ATTR.packageId]: record.id,
          [ATTR.packageVersion]: record.version
        }
      },
      parent
    )
    const start = performance.now()
    const message = fromString(
      JSON.stringify({ v: 1, record, traceparent: traceparentOf(trace.setSpan(parent, span)) })
    )
    span.setAttribute(ATTR.announcementSizeBytes, message.byteLength)
    let announced = false
    try {
      const result = await this.libp2p.services.pubsub.publish(PACKAGES_TOPIC, message)
      announced = result.recipients.length > 0
      if (!announced) failSpan(span, 'no peer subscribed to the packages topic')
    } catch (err) {
      failSpan(span, err)
    }
    span.setAttribute(ATTR.latencyMs, elapsedMs(start))
    span.end()
    return announced
  }

  // ---------------------------------------------------------------- search

  async search(query: SearchQuery, options: { signal?: AbortSignal } = {}): Promise<SearchResult> {
    const parsed = searchQuerySchema.safeParse(query)
    if (!parsed.success) {
      throw new InvalidQueryError(
        `invalid search query: ${fieldIssues(parsed.error)
          .map(i => `${i.field}: ${i.message}`)
          .join('; ')}`
      )
    }
    const q = parsed.data
    const attributes = {
      [ATTR.operation]: OPERATION.p2pSearch,
      [ATTR.queryText]: q.text,
      [ATTR.queryLimit]: q.limit ?? 20,
      [ATTR.categoryCount]: q.categories?.length ?? 0,
      [ATTR.tagCount]: q.tags?.length ?? 0
    }
    return await inSpan(this.tracer, SPAN.search, attributes, undefined, async (span, ctx) => {
      const start = performance.now()
      // records this search brings in are remembered with where they came from;
      // everything else in the final ranking was already here
      const sources = new Map<string, { source: SearchHit['source']; from?: string }>()
      const remember = (records: PackageRecord[], source: 'peer' | 'dht', from: string): void => {
        for (const r of records) if (!sources.has(r.id)) sources.set(r.id, { source, from })
      }

      const candidates = await this.searchPeers()
      const peers = this.pickPeers(candidates)
      span.setAttributes({ [ATTR.peerCount]: candidates.length, [ATTR.fanOut]: peers.length })
      const id = q.text.trim()
      // an exact id is also looked up in the DHT, unless this node or the
      // fan-out already has it (the DHT is the slowest source by far)
      const exact = PACKAGE_ID.test(id) && this.catalog.get(id) == null
      const dhtCancel = new AbortController()
      const dht = exact
        ? this.lookupDht(
            latestKey(id),
            AbortSignal.any([dhtCancel.signal, ...(options.signal != null ? [options.signal] : [])]),
            remember
          )
        : undefined
      if (peers.length > 0)
        await this.queryPeers({ type: 'search', query: q }, peers, id, ctx, options.signal, remember)
      if (exact && this.catalog.get(id) != null) dhtCancel.abort()
      await dht

      const { records } = this.catalog.search(q)
      const packages = records.map(record => ({
        ...record,
        ...(sources.get(record.id) ?? { source: 'local' as const })
      }))
      const localResults = packages.filter(p => p.source === 'local').length
      const result: SearchResult = {
        packages,
        localResults,
        dhtResults: packages.length - localResults,
        peersQueried: peers.length,
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

  /** Connected peers that speak the search protocol (as identify and identify-push told the peer store). */
  private async searchPeers(): Promise<PeerId[]> {
    const peers = new Map<string, PeerId>()
    for (const conn of this.libp2p.getConnections()) {
      if (conn.status === 'open') peers.set(conn.remotePeer.toString(), conn.remotePeer)
    }
    const speaking = await Promise.all(
      [...peers.values()].map(async peer => {
        const info = await this.libp2p.peerStore.get(peer).catch(() => undefined)
        return info?.protocols.includes(SEARCH_PROTOCOL) === true ? peer : undefined
      })
    )
    return speaking.filter(p => p != null)
  }

  /** The fan-out: the most reputable peers, skipping those under 0.5 while others are available. */
  private pickPeers(candidates: PeerId[]): PeerId[] {
    const ranked = candidates
      .map(p => ({ p, score: this.reputation.score(p.toString()) }))
      .sort((a, b) => b.score - a.score)
    const good = ranked.filter(r => r.score >= 0.5)
    return (good.length >= Math.min(this.fanOut, ranked.length) ? good : ranked)
      .slice(0, this.fanOut)
      .map(r => r.p)
  }

  /**
   * Sends `request` to each peer in parallel (each with its own timeout) and
   * resolves once enough have answered or all have settled; the others are
   * cancelled without counting against them.
   */
  private async queryPeers(
    request: { type: 'search'; query: SearchQuery } | { type: 'versions'; id: string },
    peers: PeerId[],
    packageId: string,
    parent: Context,
    signal: AbortSignal | undefined,
    remember: (records: PackageRecord[], source: 'peer', from: string) => void
  ): Promise<void> {
    const attributes = {
      [ATTR.operation]: OPERATION.dhtQueryParallel,
      [ATTR.packageId]: packageId,
      [ATTR.fanOut]: peers.length,
      [ATTR.peersQueried]: peers.length
    }
    await inSpan(this.tracer, SPAN.queryDhtParallel, attributes, parent, async (span, ctx) => {
      const start = performance.now()
      const cancel = new AbortController()
      const onAbort = (): void => cancel.abort(signal?.reason)
      signal?.addEventListener('abort', onAbort, { once: true })
      const enough = Math.min(this.enoughAnswers, peers.length)
      let successes = 0
      let grace: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>(resolve => {
        let settled = 0
        for (const peer of peers) {
          void this.queryPeer(request, peer, ctx, cancel.signal, remember).then(ok => {
            if (ok) successes++
            settled++
            if (successes >= enough || settled === peers.length) resolve()
            // once one peer answered, a slow one only gets a short grace period
            else if (successes === 1 && grace == null) grace = setTimeout(resolve, this.graceMs)
          })
        }
      })
      clearTimeout(grace)
      cancel.abort(new DOMException('enough answers', 'AbortError'))
      signal?.removeEventListener('abort', onAbort)
      span.setAttributes({ [ATTR.successfulResponses]: successes, [ATTR.latencyMs]: elapsedMs(start) })
    })
  }

  /**
   * One peer's part of a fan-out, with its own span and timeout; true on a
   * valid answer. When the search stops waiting (`cancelled`) the span ends
   * as cancelled but the request runs on to its own timeout, so a peer that
   * never answers still loses reputation and a slow answer still counts.
   */
  private async queryPeer(
    request: { type: 'search'; query: SearchQuery } | { type: 'versions'; id: string },
    peer: PeerId,
    parent: Context,
    cancelled: AbortSignal,
    remember: (records: PackageRecord[], source: 'peer', from: string) => void
  ): Promise<boolean> {
    const peerId = peer.toString()
    const span = this.tracer.startSpan(SPAN.dhtPeerQuery, { attributes: { [ATTR.peerId]: peerId } }, parent)
    const ctx = trace.setSpan(parent, span)
    const start = performance.now()
    const outcome = withTimeout(
      this.peerTimeoutMs,
      async timeout =>
        await requestJson(
          this.libp2p,
          peer,
          SEARCH_PROTOCOL,
          { ...request, traceparent: traceparentOf(ctx) },
          { signal: timeout, maxResponseBytes: PROTOCOL_LIMITS.maxResponseBytes }
        )
    ).then(async answer => {
      const latency = elapsedMs(start)
      await this.takeAnswer(answer, peerId, latency, remember, ctx)
      return latency
    })
    const waited = await Promise.race([
      outcome.then(
        latency => ({ latency }),
        (err: unknown) => err
      ),
      new Promise<'cancelled'>(resolve => {
        if (cancelled.aborted) resolve('cancelled')
        cancelled.addEventListener('abort', () => resolve('cancelled'), { once: true })
      })
    ])
    if (typeof waited === 'object' && waited != null && 'latency' in waited) {
      // the response time, the same figure the reputation update records
      span.setAttribute(ATTR.queryLatencyMs, (waited as { latency: number }).latency)
      span.end()
      return true
    }
    span.setAttribute(ATTR.queryLatencyMs, elapsedMs(start))
    if (waited === 'cancelled') {
      span.setAttribute('outcome', 'cancelled')
      span.end()
      outcome.catch(err => this.recordFailure(peerId, err, ctx))
      return false
    }
    failSpan(span, waited)
    span.end()
    this.recordFailure(peerId, waited, ctx)
    return false
  }

  /** Verifies and keeps a peer's answer, recording the peer's success; throws when it is not valid. */
  private async takeAnswer(
    answer: unknown,
    peerId: string,
    latency: number,
    remember: (records: PackageRecord[], source: 'peer', from: string) => void,
    ctx: Context
  ): Promise<void> {
    const parsed = recordsAnswerSchema.safeParse(answer)
    if (!parsed.success) throw new ProtocolError('bad-answer', 'the answer is not { records: [...] }')
    const intake = await this.intake(parsed.data.records, 'peer', peerId)
    remember(intake.added, 'peer', peerId)
    if (intake.invalid > 0) {
      throw new ProtocolError('invalid-record', `${intake.invalid} invalid record(s): ${intake.firstError}`)
    }
    this.recordSuccess(peerId, latency, intake.added.length, ctx)
  }

  /** Gets `key` from the DHT, adds the first valid record; undefined when none. */
  private async lookupDht(
    key: string,
    signal: AbortSignal | undefined,
    remember?: (records: PackageRecord[], source: 'dht', from: string) => void
  ): Promise<PackageRecord | undefined> {
    try {
      return await withTimeout(
        this.dhtTimeoutMs,
        async timeout => {
          for await (const event of this.libp2p.services.dht.get(fromString(key), { signal: timeout })) {
            if (event.name !== 'VALUE') continue
            const from = event.from.toString()
            const intake = await this.intake([JSON.parse(toString(event.value)) as unknown], 'dht', from)
            if (intake.invalid > 0) {
              this.recordFailure(from, new Error(intake.firstError), undefined)
              continue
            }
            const record = intake.added[0] ?? this.recordForKey(key)
            if (record != null) {
              remember?.(intake.added, 'dht', from)
              return record
            }
          }
          return undefined
        },
        signal
      )
    } catch (err) {
      this.log('DHT lookup of %s failed - %s', key, describeError(err))
      return undefined
    }
  }

  private recordForKey(key: string): PackageRecord | undefined {
    const rest = key.slice(latestKey('').length)
    const parts = rest.split('/')
    return parts.length === 3 ? this.catalog.get(`${parts[0]}/${parts[1]}`, parts[2]) : this.catalog.get(rest)
  }

  // ------------------------------------------------------ getPackage / listVersions

  async getPackage(
    id: string,
    version?: string,
    options: { signal?: AbortSignal } = {}
  ): Promise<PackageRecord | undefined> {
    this.checkId(id)
    const local = this.catalog.get(id, version)
    if (local != null) return local
    const fromDht = await this.lookupDht(
      version == null ? latestKey(id) : versionKey(id, version),
      options.signal
    )
    if (fromDht != null && (version == null || fromDht.version === version)) return fromDht
    await this.askForVersions(id, options.signal)
    return this.catalog.get(id, version)
  }

  async listVersions(id: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    this.checkId(id)
    await this.askForVersions(id, options.signal)
    return this.catalog.listVersions(id)
  }

  private async askForVersions(id: string, signal?: AbortSignal): Promise<void> {
    const peers = this.pickPeers(await this.searchPeers())
    if (peers.length > 0)
      await this.queryPeers({ type: 'versions', id }, peers, id, contextFrom(undefined), signal, () => {})
  }

  private checkId(id: string): void {
    if (typeof id !== 'string' || !PACKAGE_ID.test(id)) {
      throw new InvalidQueryError(
        `id: "${String(id)}" is not a package id ("namespace/name" in lowercase letters, digits, ".", "_" or "-")`
      )
    }
  }

  // ------------------------------------------------------------------ sync

  private readonly onIdentify = (
    evt: CustomEvent<{ peerId: PeerId; protocols: string[]; connection: { limits?: unknown } }>
  ): void => {
    const { peerId, protocols, connection } = evt.detail
    // a relayed (limited) connection is short-lived while tabs upgrade to WebRTC:
    // sync on the connection that replaces it
    if (protocols.includes(SYNC_PROTOCOL) && connection.limits == null) {
      this.syncWith(peerId).catch(err => {
        this.log('sync with %p failed - %s', peerId, describeError(err))
      })
    }
  }

  /**
   * Fetches the records `peer` has that we lack: pages of its catalog after
   * the cursor we reached last time (persisted per peer), so a late joiner
   * gets everything once and a returning node only what is new.
   */
  async syncWith(peer: PeerId, options: { force?: boolean } = {}): Promise<number> {
    const id = peer.toString()
    if (this.syncing.has(id)) return 0
    if (options.force !== true && Date.now() - (this.lastSync.get(id) ?? 0) < this.resyncAfterMs) return 0
    this.syncing.add(id)
    const stateKey = new Key(`/marketplace/sync/${id}`)
    let state = { epoch: '', cursor: 0 }
    try {
      if (await this.datastore.has(stateKey))
        state = JSON.parse(toString(await this.datastore.get(stateKey))) as typeof state
    } catch {
      state = { epoch: '', cursor: 0 }
    }
    let added = 0
    try {
      for (let page = 0; page < 1000; page++) {
        const start = performance.now()
        const answer = await withTimeout(
          this.peerTimeoutMs * 3,
          async signal =>
            await requestJson(
              this.libp2p,
              peer,
              SYNC_PROTOCOL,
              { type: 'sync', cursor: state.cursor, limit: PROTOCOL_LIMITS.syncPageSize },
              { signal, maxResponseBytes: PROTOCOL_LIMITS.maxResponseBytes }
            )
        )
        const parsed = syncAnswerSchema.safeParse(answer)
        if (!parsed.success) throw new ProtocolError('bad-answer', 'the sync answer is malformed')
        if (parsed.data.epoch !== state.epoch) {
          // the peer's catalog was reset (or this is the first sync): start from its beginning
          const restart = state.epoch !== '' || state.cursor !== 0
          state = { epoch: parsed.data.epoch, cursor: 0 }
          if (restart) continue
        }
        const intake = await this.intake(parsed.data.records, 'sync', id)
        added += intake.added.length
        if (intake.invalid > 0) {
          this.recordFailure(id, new Error(intake.firstError), undefined)
        } else {
          this.recordSuccess(id, elapsedMs(start), intake.added.length, undefined)
        }
        state.cursor = parsed.data.next
        await this.datastore.put(stateKey, fromString(JSON.stringify(state)))
        if (parsed.data.done) break
      }
      this.lastSync.set(id, Date.now())
    } catch (err) {
      this.recordFailure(id, err, undefined)
      throw err
    } finally {
      this.syncing.delete(id)
    }
    return added
  }

  // -------------------------------------------------------------- answering

  private answer(request: unknown, from: PeerId): Promise<unknown> {
    const parsed = requestSchema.safeParse(request)
    if (!parsed.success) {
      throw new ProtocolError(
        'bad-request',
        fieldIssues(parsed.error)
          .map(i => `${i.field}: ${i.message}`)
          .join('; ')
      )
    }
    const req = parsed.data
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

  // ----------------------------------------------------------------- gossip

  /** Messages the validator already decoded and verified, so delivery does not verify twice. */
  private readonly validated = new WeakMap<Uint8Array, GossipAnnouncement>()

  private readonly validateGossip = async (
    propagationSource: PeerId,
    message: { data: Uint8Array }
  ): Promise<TopicValidatorResult> => {
    try {
      this.validated.set(message.data, await this.decodeGossip(message.data))
      return TopicValidatorResult.Accept
    } catch (err) {
      this.log('rejected gossip from %p - %s', propagationSource, describeError(err))
      this.recordFailure(propagationSource.toString(), err, undefined)
      return TopicValidatorResult.Reject
    }
  }

  private readonly onGossip = (
    evt: CustomEvent<{ topic: string; data: Uint8Array; from?: PeerId }>
  ): void => {
    if (evt.detail.topic !== PACKAGES_TOPIC) return
    const from = evt.detail.from?.toString()
    const known = this.validated.get(evt.detail.data)
    const announcement = known != null ? Promise.resolve(known) : this.decodeGossip(evt.detail.data)
    announcement
      .then(async ({ record, traceparent }) => {
        // linked (not parented) to the publisher's announce_package: a delivery is its own trace
        const publisherSpan = traceparent != null ? trace.getSpanContext(contextFrom(traceparent)) : undefined
        const span = this.tracer.startSpan(EXTRA_SPAN.receiveAnnouncement, {
          attributes: {
            [ATTR.operation]: EXTRA_SPAN.receiveAnnouncement,
            [ATTR.packageId]: record.id,
            [ATTR.packageVersion]: record.version,
            ...(from != null ? { [ATTR.peerId]: from } : {})
          },
          links: publisherSpan != null ? [{ context: publisherSpan }] : []
        })
        try {
          span.setAttribute(ATTR.accepted, (await this.catalog.add(record, 'gossip', from)) === 'added')
        } catch (err) {
          failSpan(span, err)
          throw err
        } finally {
          span.end()
        }
      })
      .catch(err => {
        this.log('gossip record not added - %s', describeError(err))
      })
  }

  /** Decodes, verifies and checks a gossip message; throws on anything wrong. */
  private async decodeGossip(data: Uint8Array): Promise<GossipAnnouncement> {
    if (data.byteLength > PROTOCOL_LIMITS.gossipMessageBytes) {
      throw new ProtocolError(
        'too-large',
        `gossip message of ${data.byteLength} bytes exceeds ${PROTOCOL_LIMITS.gossipMessageBytes}`
      )
    }
    const message = JSON.parse(toString(data)) as { v?: unknown; record?: unknown; traceparent?: unknown }
    if (message.v !== 1) throw new ProtocolError('bad-message', 'unknown gossip message version')
    const record = await verifyRecord(message.record)
    this.catalog.check(record)
    return {
      record,
      ...(typeof message.traceparent === 'string' ? { traceparent: message.traceparent } : {})
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Verifies and adds records from a peer; counts what was new, known and invalid. */
  private async intake(records: unknown[], source: RecordSource, from: string): Promise<Intake> {
    const intake: Intake = { added: [], known: 0, invalid: 0 }
    for (const raw of records) {
      try {
        if (JSON.stringify(raw).length > LIMITS.recordBytes)
          throw new Error(`record exceeds ${LIMITS.recordBytes} bytes`)
        const record = await verifyRecord(raw)
        if ((await this.catalog.add(record, source, from)) === 'added') intake.added.push(record)
        else intake.known++
      } catch (err) {
        intake.invalid++
        intake.firstError ??= describeError(err)
      }
    }
    return intake
  }

  private recordSuccess(
    peerId: string,
    responseMs: number,
    provided: number,
    parent: Context | undefined
  ): void {
    const score = this.reputation.recordSuccess(peerId, responseMs, provided)
    const span = this.tracer.startSpan(
      SPAN.recordPeerSuccess,
      {
        attributes: {
          [ATTR.operation]: OPERATION.peerReputationUpdate,
          [ATTR.peerId]: peerId,
          [ATTR.responseTimeMs]: responseMs,
          [ATTR.result]: 'success',
          [ATTR.newReputationScore]: score
        }
      },
      parent
    )
    span.end()
  }

  private recordFailure(peerId: string, err: unknown, parent: Context | undefined): void {
    const score = this.reputation.recordFailure(peerId)
    const span = this.tracer.startSpan(
      SPAN.recordPeerFailure,
      {
        attributes: {
          [ATTR.operation]: OPERATION.peerReputationUpdate,
          [ATTR.peerId]: peerId,
          [ATTR.result]: 'failure',
          [ATTR.newReputationScore]: score,
          [ATTR.error]: describeError(err)
        }
      },
      parent
    )
    span.end()
  }
}
