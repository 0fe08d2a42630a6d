import { withTimeout } from '../network/backoff.ts'
import { ProtocolError } from '../protocols/errors.ts'
import { requestJson } from '../protocols/json-stream.ts'
import { PROTOCOL_LIMITS, SEARCH_PROTOCOL, recordsAnswerSchema } from '../protocols/messages.ts'
import { intakeRecords } from './record-intake.ts'
import { ATTR, OPERATION, SPAN } from '../telemetry/schema.ts'
import { elapsedMs, failSpan, inSpan, traceparentOf } from '../telemetry/tracing.ts'
import type { PackageCatalog, SearchQuery } from '../catalog/catalog.ts'
import type { PeerFeedback } from './peer-feedback.ts'
import type { OnRecordsAdded } from './record-intake.ts'
import type { ReputationBook } from './reputation.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { context, trace } from '@opentelemetry/api'
import type { OperationOptions } from '../telemetry/tracing.ts'
import type { Tracer } from '@opentelemetry/api'

/** What a fan-out asks each peer, on the search protocol. */
export type PeerQuery = { type: 'search'; query: SearchQuery } | { type: 'versions'; id: string }

export interface FanOutOptions extends OperationOptions {
  /** Learns which records the answers brought in, and from whom. */
  onAdded?: OnRecordsAdded
}

export interface SearchFanOutComponents {
  libp2p: Pick<Libp2p, 'getConnections' | 'peerStore' | 'dialProtocol'>
  catalog: Pick<PackageCatalog, 'add' | 'get'>
  reputation: Pick<ReputationBook, 'score'>
  feedback: Pick<PeerFeedback, 'success' | 'failure'>
  tracer: Tracer
}

export interface SearchFanOutInit {
  /** Peers asked in parallel. */
  fanOut: number
  /** The fan-out stops waiting once this many peers answered. */
  enoughAnswers: number
  /** Per-peer timeout, ms. */
  peerTimeoutMs: number
  /** After the first peer answered, how long (ms) the fan-out still waits for the others. */
  graceMs: number
}

/**
 * The parallel peer queries of a search, `getPackage` and `listVersions`:
 * chooses the most reputable connected peers that speak the search protocol,
 * asks them at once (`query_dht_parallel`, one `dht_peer_query` per peer),
 * keeps the valid records they send and scores each peer on its answer.
 */
export class SearchFanOut {
  private readonly libp2p: SearchFanOutComponents['libp2p']
  private readonly catalog: SearchFanOutComponents['catalog']
  private readonly reputation: SearchFanOutComponents['reputation']
  private readonly feedback: SearchFanOutComponents['feedback']
  private readonly tracer: Tracer
  private readonly fanOut: number
  private readonly enoughAnswers: number
  private readonly peerTimeoutMs: number
  private readonly graceMs: number

  constructor(components: SearchFanOutComponents, init: SearchFanOutInit) {
    this.libp2p = components.libp2p
    this.catalog = components.catalog
    this.reputation = components.reputation
    this.feedback = components.feedback
    this.tracer = components.tracer
    this.fanOut = init.fanOut
    this.enoughAnswers = init.enoughAnswers
    this.peerTimeoutMs = init.peerTimeoutMs
    this.graceMs = init.graceMs
  }

  /**
   * The fan-out: of the connected peers (`available` of them) that speak
   * the search protocol, the most reputable, skipping those under 0.5
   * while others are available. When fewer than `fanOut` peers are known to
   * speak it, the other connected peers fill the places left: identify may
   * not have described them (it timed out through a busy relay, say). Asking
   * costs one protocol negotiation, a peer that does not speak it loses no
   * reputation, and one that does is in the peer store as speaking it from
   * then on (libp2p records each protocol a stream negotiates).
   */
  async choosePeers(): Promise<{ available: number; peers: PeerId[] }> {
    const { speaking, others } = await this.searchPeers()
    const rank = (peers: PeerId[]): Array<{ p: PeerId; score: number }> =>
      peers.map(p => ({ p, score: this.reputation.score(p.toString()) })).sort((a, b) => b.score - a.score)
    const ranked = rank(speaking)
    const good = ranked.filter(r => r.score >= 0.5)
    const peers = (good.length >= Math.min(this.fanOut, ranked.length) ? good : ranked)
      .slice(0, this.fanOut)
      .map(r => r.p)
    for (const { p } of rank(others).slice(0, this.fanOut - peers.length)) peers.push(p)
    return { available: speaking.length + others.length, peers }
  }

  /**
   * Sends `request` to each peer in parallel (each with its own timeout) and
   * resolves once enough have answered or all have settled; the others are
   * cancelled without counting against them. Nothing is sent (and no span
   * started) without peers.
   */
  async query(request: PeerQuery, peers: PeerId[], options: FanOutOptions = {}): Promise<void> {
    if (peers.length === 0) return
    const { signal, onAdded } = options
    const attributes = {
      [ATTR.operation]: OPERATION.dhtQueryParallel,
      [ATTR.packageId]: request.type === 'versions' ? request.id : request.query.text.trim(),
      [ATTR.fanOut]: peers.length,
      [ATTR.peersQueried]: peers.length
    }
    await inSpan(this.tracer, SPAN.queryDhtParallel, attributes, options.parent, async (span, ctx) => {
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
          void this.queryPeer(request, peer, { parent: ctx, signal: cancel.signal, onAdded }).then(ok => {
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
   * Connected peers that speak the search protocol (as identify and identify-push told the peer
   * store), and the other connected peers.
   */
  private async searchPeers(): Promise<{ speaking: PeerId[]; others: PeerId[] }> {
    const peers = new Map<string, PeerId>()
    for (const conn of this.libp2p.getConnections()) {
      if (conn.status === 'open') peers.set(conn.remotePeer.toString(), conn.remotePeer)
    }
    const speaking: PeerId[] = []
    const others: PeerId[] = []
    await Promise.all(
      [...peers.values()].map(async peer => {
        // not in the peer store (forgotten meanwhile): its protocols are unknown
        const info = await this.libp2p.peerStore.get(peer).catch(() => undefined)
        if (info?.protocols.includes(SEARCH_PROTOCOL) === true) speaking.push(peer)
        else others.push(peer)
      })
    )
    return { speaking, others }
  }

  /**
   * One peer's part of a fan-out, with its own span and timeout; true on a
   * valid answer. When the fan-out stops waiting (`cancelled`) the span ends
   * as cancelled but the request runs on to its own timeout, so a peer that
   * never answers still loses reputation and a slow answer still counts.
   */
  private async queryPeer(request: PeerQuery, peer: PeerId, options: FanOutOptions): Promise<boolean> {
    const { parent = context.active(), signal: cancelled, onAdded } = options
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
      await this.takeAnswer(answer, peerId, latency, { parent: ctx, onAdded })
      return latency
    })
    const waited = await Promise.race([
      outcome.then(
        latency => ({ latency }),
        (err: unknown) => ({ err })
      ),
      new Promise<'cancelled'>(resolve => {
        if (cancelled?.aborted === true) resolve('cancelled')
        cancelled?.addEventListener('abort', () => resolve('cancelled'), { once: true })
      })
    ])
    if (waited !== 'cancelled' && 'latency' in waited) {
      // the response time, the same figure the reputation update records
      span.setAttribute(ATTR.queryLatencyMs, waited.latency)
      span.end()
      return true
    }
    span.setAttribute(ATTR.queryLatencyMs, elapsedMs(start))
    if (waited === 'cancelled') {
      span.setAttribute('outcome', 'cancelled')
      span.end()
      outcome.catch(err => this.feedback.failure(peerId, err, ctx))
      return false
    }
    failSpan(span, waited.err)
    span.end()
    // a peer asked on the off chance (identify did not list the protocol): not speaking it is no fault
    if (!isUnsupported(waited.err)) this.feedback.failure(peerId, waited.err, ctx)
    return false
  }

  /** Verifies and keeps a peer's answer, recording the peer's success; throws when it is not valid. */
  private async takeAnswer(
    answer: unknown,
    peerId: string,
    latency: number,
    options: FanOutOptions
  ): Promise<void> {
    const parsed = recordsAnswerSchema.safeParse(answer)
    if (!parsed.success) throw new ProtocolError('bad-answer', 'the answer is not { records: [...] }')
    const intake = await intakeRecords(this.catalog, parsed.data.records, 'peer', peerId)
    options.onAdded?.(intake.added, 'peer', peerId)
    if (intake.invalid > 0) {
      throw new ProtocolError('invalid-record', `${intake.invalid} invalid record(s): ${intake.firstError}`)
    }
    this.feedback.success(peerId, latency, intake.added.length, options.parent)
  }
}

/** The peer does not speak the protocol (multistream-select found no match). */
function isUnsupported(err: unknown): boolean {
  return err instanceof Error && err.name === 'UnsupportedProtocolError'
}
