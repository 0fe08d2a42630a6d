import { Key } from 'interface-datastore'
import { fromString, toString } from 'uint8arrays'
import { sleep, withTimeout } from '../network/backoff.ts'
import { describeError } from '../errors.ts'
import { ProtocolError } from '../protocols/errors.ts'
import { requestJson } from '../protocols/json-stream.ts'
import { PROTOCOL_LIMITS, SYNC_PROTOCOL, syncAnswerSchema } from '../protocols/messages.ts'
import { intakeRecords } from './record-intake.ts'
import { elapsedMs } from '../telemetry/tracing.ts'
import type { PackageCatalog } from '../catalog/catalog.ts'
import type { PeerFeedback } from './peer-feedback.ts'
import type { AbortOptions, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export interface CatalogSyncComponents {
  libp2p: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'dialProtocol'>
  catalog: Pick<PackageCatalog, 'add' | 'get'>
  /** Where the sync cursor reached with each peer is kept. */
  datastore: Datastore
  feedback: Pick<PeerFeedback, 'success' | 'failure'>
  log: Logger
}

export interface CatalogSyncInit {
  /** Timeout of one page, ms. */
  pageTimeoutMs: number
  /** A peer is synced with at most this often, ms. */
  resyncAfterMs: number
  /**
   * What is taken from each peer (see {@link SyncScope}). Tabs take everything from their relays
   * and nothing from other peers; relays everything from their peer relays and, from every other
   * peer, only the records it published itself. @default 'all' for every peer
   */
  scope?: (peerId: string) => SyncScope
}

/**
 * What a node takes from a peer's catalog: `all` its records; `own` only those the peer published
 * itself (a tab's own records reach its relay, even those published while the relay was away, but
 * a peer serving records of a thousand fresh keys gets none of them in); `none`: it is not synced
 * with. A hostile tab serving the sync protocol would otherwise fill every catalog it meets.
 */
export type SyncScope = 'all' | 'own' | 'none'

/** How far we read a peer's catalog: its epoch and the cursor after the last page. */
interface SyncState {
  epoch: string
  cursor: number
}

/**
 * The client side of the sync protocol: syncs with every peer that speaks it
 * once identify says so (on a direct connection, at most every
 * `resyncAfterMs`), or when asked with `syncWith`.
 */
export class CatalogSync {
  private readonly libp2p: CatalogSyncComponents['libp2p']
  private readonly catalog: CatalogSyncComponents['catalog']
  private readonly datastore: Datastore
  private readonly feedback: CatalogSyncComponents['feedback']
  private readonly log: Logger
  private readonly pageTimeoutMs: number
  private readonly resyncAfterMs: number
  private readonly scope: (peerId: string) => SyncScope
  private readonly lastSync = new Map<string, number>()
  private readonly syncing = new Set<string>()

  constructor(components: CatalogSyncComponents, init: CatalogSyncInit) {
    this.libp2p = components.libp2p
    this.catalog = components.catalog
    this.datastore = components.datastore
    this.feedback = components.feedback
    this.log = components.log
    this.pageTimeoutMs = init.pageTimeoutMs
    this.resyncAfterMs = init.resyncAfterMs
    this.scope = init.scope ?? (() => 'all')
  }

  start(): void {
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
  }

  stop(): void {
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
  }

  private readonly onIdentify = (
    evt: CustomEvent<{ peerId: PeerId; protocols: string[]; connection: { limits?: unknown } }>
  ): void => {
    const { peerId, protocols, connection } = evt.detail
    // a relayed (limited) connection is short-lived while tabs upgrade to WebRTC:
    // sync on the connection that replaces it
    if (
      protocols.includes(SYNC_PROTOCOL) &&
      connection.limits == null &&
      this.scope(peerId.toString()) !== 'none'
    ) {
      this.syncWith(peerId).catch(err => {
        this.log('sync with %p failed - %s', peerId, describeError(err))
      })
    }
  }

  /**
   * Fetches the records `peer` has that we lack: pages of its catalog after
   * the cursor we reached last time (persisted per peer), so a late joiner
   * gets everything once and a returning node only what is new. Resolves
   * with the number of records added; 0 without asking when a sync with the
   * peer is running or was done less than `resyncAfterMs` ago (unless `force`),
   * or when its scope is `none`. Of a peer whose scope is `own`, only the records
   * it published are taken; the rest are passed over unread.
   */
  async syncWith(peer: PeerId, options: AbortOptions & { force?: boolean } = {}): Promise<number> {
    const id = peer.toString()
    const scope = this.scope(id)
    if (scope === 'none' || this.syncing.has(id)) return 0
    if (options.force !== true && Date.now() - (this.lastSync.get(id) ?? 0) < this.resyncAfterMs) return 0
    this.syncing.add(id)
    const stateKey = new Key(`/marketplace/sync/${id}`)
    let state = await this.loadState(stateKey)
    let added = 0
    try {
      for (let page = 0; page < 1000; page++) {
        const start = performance.now()
        const answer = await this.page(peer, state.cursor, options)
        const parsed = syncAnswerSchema.safeParse(answer)
        if (!parsed.success) throw new ProtocolError('bad-answer', 'the sync answer is malformed')
        if (parsed.data.epoch !== state.epoch) {
          // the peer's catalog was reset (or this is the first sync): start from its beginning
          const restart = state.epoch !== '' || state.cursor !== 0
          state = { epoch: parsed.data.epoch, cursor: 0 }
          if (restart) continue
        }
        const records =
          scope === 'own'
            ? parsed.data.records.filter(r => (r as { publisher?: unknown } | null)?.publisher === id)
            : parsed.data.records
        const intake = await intakeRecords(this.catalog, records, 'sync', id)
        added += intake.added.length
        if (intake.invalid > 0) {
          this.feedback.failure(id, new Error(intake.firstError))
        } else {
          this.feedback.success(id, elapsedMs(start), intake.added.length)
        }
        state.cursor = parsed.data.next
        await this.datastore.put(stateKey, fromString(JSON.stringify(state)))
        if (parsed.data.done) break
      }
      this.lastSync.set(id, Date.now())
    } catch (err) {
      this.feedback.failure(id, err)
      throw err
    } finally {
      this.syncing.delete(id)
    }
    return added
  }

  /** One page after `cursor`; a page answered `rate-limited` is asked again a second later (10 times at most). */
  private async page(peer: PeerId, cursor: number, options: AbortOptions = {}): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTimeout(
          this.pageTimeoutMs,
          async pageSignal =>
            await requestJson(
              this.libp2p,
              peer,
              SYNC_PROTOCOL,
              { type: 'sync', cursor, limit: PROTOCOL_LIMITS.syncPageSize },
              { signal: pageSignal, maxResponseBytes: PROTOCOL_LIMITS.maxResponseBytes }
            ),
          options.signal
        )
      } catch (err) {
        if (!(err instanceof ProtocolError && err.code === 'rate-limited') || attempt >= 10) throw err
        await sleep(1_000, options.signal)
      }
    }
  }

  /** The persisted state, or a fresh one when there is none or it cannot be read. */
  private async loadState(key: Key): Promise<SyncState> {
    try {
      if (await this.datastore.has(key))
        return JSON.parse(toString(await this.datastore.get(key))) as SyncState
    } catch {
      // unreadable: read the peer's catalog from its beginning
    }
    return { epoch: '', cursor: 0 }
  }
}
