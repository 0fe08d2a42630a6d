import { peerIdFromString } from '@libp2p/peer-id'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import { isDirectWebRTC } from './connection-info.ts'
import {
  DIRECT_DIAL_MAX_TIMEOUT_MS,
  DIRECT_DIAL_TIMEOUT_MS,
  INITIAL_CONCURRENT_DIRECT_DIALS,
  MAX_CONCURRENT_DIRECT_DIALS
} from '../constants.ts'
import { DirectDialer, emptyDialStats, newCandidate } from './direct-dial.ts'
import type { Candidate, DialOutcome } from './direct-dial.ts'
import type {
  DirectConnectorComponents,
  DirectConnectorInit,
  DirectConnectorSettings,
  DirectDialState,
  DirectDialStats
} from './direct-connector-types.ts'
import type { Connection, Logger, PeerId } from '@libp2p/interface'

export type {
  DirectConnectorComponents,
  DirectConnectorInit,
  DirectDialState,
  DirectDialStats
} from './direct-connector-types.ts'

/**
 * Upgrades every discovered tab to a direct WebRTC connection.
 *
 * One side of each pair dials (the lower peer id) so the two sides do not
 * race each other; the peer store is rescanned on an interval because libp2p
 * does not re-emit `peer:discovery` for known peers; at most one dial per peer
 * is in flight; failures back off exponentially with jitter, up to
 * `maxBackoffMs`; a direct connection that closes is re-dialled. A pair never
 * gives up for good: a peer is dialled until it is direct for as long as it
 * is around (connected, or announcing itself on the discovery topic).
 *
 * This class decides whom to dial and when; {@link DirectDialer} makes each dial.
 */
export class DirectConnector {
  readonly stats: DirectDialStats = emptyDialStats()
  private readonly libp2p: DirectConnectorComponents['libp2p']
  private readonly log: Logger
  private readonly init: DirectConnectorSettings
  private readonly dialer: DirectDialer
  private readonly candidates = new Map<string, Candidate>()
  private inFlight = 0
  private timer?: ReturnType<typeof setInterval>
  private controller = new AbortController()

  constructor(components: DirectConnectorComponents, init: DirectConnectorInit) {
    this.libp2p = components.libp2p
    this.log = components.log
    this.init = {
      scanIntervalMs: 750,
      dialTimeoutMs: DIRECT_DIAL_TIMEOUT_MS,
      maxDialTimeoutMs: DIRECT_DIAL_MAX_TIMEOUT_MS,
      maxConcurrentDials: MAX_CONCURRENT_DIRECT_DIALS,
      initialConcurrentDials: INITIAL_CONCURRENT_DIRECT_DIALS,
      fallbackAfterMs: 10_000,
      maxBackoffMs: 30_000,
      forgetAfterMs: 30_000,
      ...init
    }
    this.dialer = new DirectDialer(components, this.init, this.stats)
    this.stats.window = Math.min(this.init.initialConcurrentDials, this.init.maxConcurrentDials)
  }

  start(): void {
    this.controller = new AbortController()
    this.libp2p.addEventListener('peer:discovery', this.onDiscovery)
    this.libp2p.addEventListener('connection:close', this.onConnectionClose)
    this.timer = setInterval(() => {
      this.scan().catch(err => {
        this.log.error('direct connector scan failed - %e', err)
      })
    }, this.init.scanIntervalMs)
  }

  stop(): void {
    clearInterval(this.timer)
    this.controller.abort()
    this.libp2p.removeEventListener('peer:discovery', this.onDiscovery)
    this.libp2p.removeEventListener('connection:close', this.onConnectionClose)
  }

  /** Where the upgrade of each peer that is not direct yet stands. */
  dialStates(): Map<string, DirectDialState> {
    const states = new Map<string, DirectDialState>()
    const self = this.libp2p.peerId.toString()
    for (const [id, c] of this.candidates) {
      if (this.hasDirect(id)) continue
      states.set(id, {
        dialer: self < id ? 'self' : 'peer',
        attempts: c.attempts,
        dialing: c.dialing,
        ...(c.lastError != null ? { lastError: c.lastError, lastErrorClass: c.lastErrorClass } : {}),
        ...(c.dialing ? {} : this.pending(id, c))
      })
    }
    return states
  }

  /** The peer announced itself (a discovery message): it is still around. */
  announced(id: string): void {
    const candidate = this.candidates.get(id)
    if (candidate != null) candidate.lastSeen = Date.now()
    else this.consider(id)
  }

  private pending(id: string, c: Candidate): Pick<DirectDialState, 'nextAttemptAt' | 'queued'> {
    const designated = this.libp2p.peerId.toString() < id
    const nextAttemptAt = designated ? c.nextAt : Math.max(c.nextAt, c.firstSeen + this.init.fallbackAfterMs)
    const queued = nextAttemptAt <= Date.now() && this.inFlight >= this.stats.window
    return { nextAttemptAt, ...(queued ? { queued } : {}) }
  }

  private readonly onDiscovery = (evt: CustomEvent<{ id: PeerId }>): void => {
    const id = evt.detail.id.toString()
    this.log.trace('discovered %s', id)
    const known = this.candidates.get(id)
    if (known != null) {
      // rediscovered: whatever failed before may work now
      known.backoff.reset()
      known.nextAt = 0
    }
    this.consider(id)
  }

  private readonly onConnectionClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    if (isDirectWebRTC(conn)) {
      this.init.onChange(conn.remotePeer.toString())
      // re-dial soon if the peer is still around; the scan finds out
      const candidate = this.candidates.get(conn.remotePeer.toString())
      if (candidate != null) {
        candidate.nextAt = Date.now() + candidate.backoff.fail()
      }
    }
  }

  private async scan(): Promise<void> {
    await this.dialDue()
    await this.forgetGone()
  }

  /** Starts the dials that are due, as many as the window allows, in turn (see `rank`). */
  private async dialDue(): Promise<void> {
    const peers = await this.libp2p.peerStore.all({
      filters: [peer => peer.addresses.some(a => WebRTC.matches(a.multiaddr))]
    })
    const self = this.libp2p.peerId.toString()
    const attempts = new Map([...this.candidates].map(([id, c]) => [id, c.attempts]))
    // when dials wait for a free slot, the pairs this side is designated for go first, then the
    // pairs dialled least: every pair gets its turn, and a pair that keeps failing does not hog one
    const rank = (id: string): number => (self < id ? 0 : 1_000_000) + (attempts.get(id) ?? 0)
    const ids = peers.map(peer => peer.id.toString()).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1))
    for (const id of ids) {
      this.consider(id)
    }
  }

  /** Forgets peers with no connection that stopped announcing themselves: the tab is gone. */
  private async forgetGone(): Promise<void> {
    const now = Date.now()
    const connected = new Set(this.libp2p.getConnections().map(c => c.remotePeer.toString()))
    for (const [id, c] of this.candidates) {
      if (c.dialing || connected.has(id) || now - c.lastSeen < this.init.forgetAfterMs) continue
      this.log('forgetting %s: no connection and no announcement for %d ms', id, now - c.lastSeen)
      this.candidates.delete(id)
      // the counters stay bounded over a long session with many tabs coming and going
      delete this.stats.attemptsByPeer[id]
      delete this.stats.directAfterMs[id]
      // else the scan finds it in the peer store and dials it again
      await this.libp2p.peerStore.delete(peerIdFromString(id)).catch((err: unknown) => {
        this.log.error('could not remove %s from the peer store - %e', id, err)
      })
    }
  }

  /** Dials `id` if it is our turn, nothing is in flight and it is not direct yet. */
  private consider(id: string): void {
    if (id === this.libp2p.peerId.toString() || this.init.isRelay(id)) {
      return
    }
    let candidate = this.candidates.get(id)
    if (candidate == null) {
      candidate = newCandidate(this.init)
      this.candidates.set(id, candidate)
    }
    const now = Date.now()
    if (candidate.dialing || now < candidate.nextAt || this.hasDirect(id)) {
      return
    }
    const designated = this.libp2p.peerId.toString() < id
    if (!designated && now - candidate.firstSeen < this.init.fallbackAfterMs) {
      return
    }
    if (this.inFlight >= this.stats.window) {
      return
    }
    candidate.dialing = true
    this.inFlight++
    this.log.trace('dialing %s directly', id)
    this.dialer
      .dial(id, candidate, { signal: this.controller.signal })
      .finally(() => {
        this.inFlight--
      })
      .then(
        outcome => {
          candidate.dialing = false
          this.adapt(outcome)
          if (outcome === 'skipped' || this.controller.signal.aborted) return
          // after `dialing` is cleared, so that listeners see the outcome
          this.init.onChange(id)
          // a slot is free: a queued dial need not wait for the next scan
          this.dialDue().catch(err => {
            this.log.error('direct connector scan failed - %e', err)
          })
        },
        err => {
          candidate.dialing = false
          this.log.error('direct dial to %s failed unexpectedly - %e', id, err)
        }
      )
  }

  /**
   * The window of dials in flight: one more after a dial that ended direct (the machine and the
   * relay keep up), half as many after one that timed out (handshakes are slower than the
   * timeout: more at once would make them slower still).
   */
  private adapt(outcome: DialOutcome): void {
    const before = this.stats.window
    if (outcome === 'direct') this.stats.window = Math.min(this.init.maxConcurrentDials, before + 1)
    else if (outcome === 'timeout') this.stats.window = Math.max(1, Math.floor(before / 2))
    if (this.stats.window !== before)
      this.log('%d direct dials at once now (was %d)', this.stats.window, before)
  }

  private hasDirect(id: string): boolean {
    return this.libp2p.getConnections().some(c => c.remotePeer.toString() === id && isDirectWebRTC(c))
  }
}
