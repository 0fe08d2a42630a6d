import { peerIdFromString } from '@libp2p/peer-id'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import { Backoff, withTimeout } from './backoff.ts'
import { isDirectWebRTC } from './connection-info.ts'
import {
  DIRECT_DIAL_MAX_TIMEOUT_MS,
  DIRECT_DIAL_TIMEOUT_MS,
  MAX_CONCURRENT_DIRECT_DIALS
} from '../constants.ts'
import { classifyDialError } from './dial-errors.ts'
import { describeError } from '../errors.ts'
import type { DialErrorClass, DialErrorExplanation } from './dial-errors.ts'
import type { Connection, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Counters of {@link DirectConnector}, for the UI and benchmarks. */
export interface DirectDialStats {
  /** Dials started. */
  attempts: number
  /** Dials that ended in a direct WebRTC connection. */
  successes: number
  /** Dials that failed or did not end direct. */
  failures: number
  /** Peers whose very first dial was attempted / succeeded. */
  firstDials: number
  firstDialSuccesses: number
  /** Why the last few dials failed (newest last). */
  recentErrors: string[]
  /** Failed dials by class of error. */
  errorsByClass: Partial<Record<DialErrorClass, number>>
  /** Dials made to each peer around now (by peer id), successful or not. */
  attemptsByPeer: Record<string, number>
  /** How long each peer's upgrade took (ms, first seen → direct), by peer id. */
  directAfterMs: Record<string, number>
}

/** Where the upgrade of one peer to a direct connection stands (for `peers()` and the UI). */
export interface DirectDialState {
  /** Which side of the pair dials: the lower peer id does, the other falls back after a while. */
  dialer: 'self' | 'peer'
  /** Dials this node made to the peer. */
  attempts: number
  /** A dial is in flight now. */
  dialing: boolean
  /** The last failed dial's error, and its class. */
  lastError?: string
  lastErrorClass?: DialErrorClass
  /** When this node dials next (epoch ms), when no dial is in flight. */
  nextAttemptAt?: number
  /** The dial is due but waits for one of this node's other upgrades to finish (`maxConcurrentDials`). */
  queued?: boolean
}

export interface DirectConnectorComponents {
  libp2p: Pick<
    Libp2p,
    'peerId' | 'dial' | 'getConnections' | 'peerStore' | 'addEventListener' | 'removeEventListener'
  >
  log: Logger
}

export interface DirectConnectorInit {
  /** Peers that are never upgraded (the relays). */
  isRelay: (peerId: string) => boolean
  /** How often (ms) the peer store is walked for peers to upgrade. @default 750 */
  scanIntervalMs?: number
  /** Per-dial timeout, in ms. Legitimate dials take 2-4 s with 6 busy tabs on 2 cores. @default 20000 */
  dialTimeoutMs?: number
  /**
   * A pair whose dial timed out gets half as long again for its next dial, up to this (ms): on a
   * starved machine handshakes were seen completing just past 20 s. @default 28000
   */
  maxDialTimeoutMs?: number
  /**
   * Dials in flight at once; the others wait their turn (designated pairs and pairs dialled
   * least first). @default 2
   */
  maxConcurrentDials?: number
  /**
   * A peer we are not the designated dialer for is dialled by us anyway once it
   * has been known this long (ms) without a direct connection: in case only our
   * direction works, or the designated side's dial hangs (seen with Node peers:
   * a dial that never settles until its timeout). @default 10000
   */
  fallbackAfterMs?: number
  /** Longest wait (ms) between two dials to one peer: failures back off up to this. @default 30000 */
  maxBackoffMs?: number
  /**
   * A peer with no connection to us that has not announced itself on the discovery
   * topic for this long (ms) is taken to be gone and forgotten. While it keeps
   * announcing, it is dialled again and again (with backoff) until it is direct. @default 30000
   */
  forgetAfterMs?: number
  /** Called with a peer's id whenever its upgrade changes: a dial starts, fails or succeeds, or its direct connection closes. */
  onChange: (peerId: string) => void
  /**
   * Says why a dial of this class failed, when the node knows (`explainDialError`): the dial's
   * error then gets the hint appended in parentheses, and the explanation's class.
   */
  explain?: (errorClass: DialErrorClass) => DialErrorExplanation | undefined
}

interface Candidate {
  firstSeen: number
  /** Last time the peer announced itself (epoch ms), or was first seen. */
  lastSeen: number
  backoff: Backoff
  nextAt: number
  dialing: boolean
  dialled: boolean
  attempts: number
  /** The timeout of this pair's next dial (ms): longer after a dial that timed out. */
  timeoutMs: number
  lastError?: string
  lastErrorClass?: DialErrorClass
}

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
 */
export class DirectConnector {
  readonly stats: DirectDialStats = {
    attempts: 0,
    successes: 0,
    failures: 0,
    firstDials: 0,
    firstDialSuccesses: 0,
    recentErrors: [],
    errorsByClass: {},
    attemptsByPeer: {},
    directAfterMs: {}
  }
  private readonly libp2p: DirectConnectorComponents['libp2p']
  private readonly log: Logger
  private readonly init: Required<Omit<DirectConnectorInit, 'isRelay' | 'onChange' | 'explain'>> &
    Pick<DirectConnectorInit, 'isRelay' | 'onChange' | 'explain'>
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
      fallbackAfterMs: 10_000,
      maxBackoffMs: 30_000,
      forgetAfterMs: 30_000,
      ...init
    }
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
    const queued = nextAttemptAt <= Date.now() && this.inFlight >= this.init.maxConcurrentDials
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
    await this.forgetGone()
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
      candidate = {
        firstSeen: Date.now(),
        lastSeen: Date.now(),
        backoff: new Backoff({ initialMs: 500, maxMs: this.init.maxBackoffMs }),
        nextAt: 0,
        dialing: false,
        dialled: false,
        attempts: 0,
        timeoutMs: this.init.dialTimeoutMs
      }
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
    if (this.inFlight >= this.init.maxConcurrentDials) {
      return
    }
    candidate.dialing = true
    this.inFlight++
    this.log.trace('dialing %s directly', id)
    this.dial(id, candidate)
      .finally(() => {
        this.inFlight--
      })
      .then(
        dialled => {
          candidate.dialing = false
          // after `dialing` is cleared, so that listeners see the outcome
          if (dialled && !this.controller.signal.aborted) this.init.onChange(id)
        },
        err => {
          candidate.dialing = false
          this.log.error('direct dial to %s failed unexpectedly - %e', id, err)
        }
      )
  }

  /** Dials `id` once, if it has a WebRTC address; says whether it did. */
  private async dial(id: string, candidate: Candidate): Promise<boolean> {
    const addr = await this.webrtcAddress(id)
    if (addr == null) {
      return false
    }
    const first = !candidate.dialled
    candidate.dialled = true
    candidate.attempts++
    this.stats.attempts++
    this.stats.attemptsByPeer[id] = candidate.attempts
    if (first) {
      this.stats.firstDials++
    }
    this.init.onChange(id)
    const started = Date.now()
    try {
      const conn = await withTimeout(
        candidate.timeoutMs,
        async signal => await this.libp2p.dial(addr, { signal }),
        this.controller.signal
      )
      if (!isDirectWebRTC(conn)) {
        throw new Error(`dial returned a ${conn.remoteAddr.toString()} connection, not a direct one`)
      }
      this.stats.successes++
      if (first) {
        this.stats.firstDialSuccesses++
      }
      candidate.backoff.reset()
      candidate.timeoutMs = this.init.dialTimeoutMs
      this.stats.directAfterMs[id] ??= Date.now() - candidate.firstSeen
      delete candidate.lastError
      delete candidate.lastErrorClass
      this.log('direct WebRTC connection to %s in %d ms', id, Date.now() - started)
    } catch (err) {
      if (this.controller.signal.aborted) {
        return true
      }
      const classified = classifyDialError(err)
      const explained = this.init.explain?.(classified)
      const errorClass = explained?.errorClass ?? classified
      candidate.lastError = `${describeError(err)}${explained != null ? ` (${explained.hint})` : ''}`
      candidate.lastErrorClass = errorClass
      if (classified === 'timeout') {
        candidate.timeoutMs = Math.min(this.init.maxDialTimeoutMs, Math.round(candidate.timeoutMs * 1.5))
      }
      this.stats.failures++
      this.stats.errorsByClass[errorClass] = (this.stats.errorsByClass[errorClass] ?? 0) + 1
      this.stats.recentErrors = [
        ...this.stats.recentErrors.slice(-9),
        `${first ? 'first dial' : 'dial'} after ${Date.now() - started} ms: ${candidate.lastError}`
      ]
      const delay = candidate.backoff.fail()
      candidate.nextAt = Date.now() + delay
      this.log(
        'direct dial to %s failed after %d ms (attempt %d), next in %d ms - %e',
        id,
        Date.now() - started,
        candidate.backoff.attempts,
        delay,
        err
      )
    }
    return true
  }

  private async webrtcAddress(id: string): Promise<Multiaddr | undefined> {
    const peer = await this.libp2p.peerStore.get(peerIdFromString(id)).catch(() => undefined)
    const addr = peer?.addresses.map(a => a.multiaddr).find(ma => WebRTC.matches(ma))
    if (addr == null) {
      return undefined
    }
    // peer store addresses lack the target: without it the dial silently
    // returns the existing relayed connection instead of upgrading
    return addr.toString().endsWith(`/p2p/${id}`) ? addr : addr.encapsulate(`/p2p/${id}`)
  }

  private hasDirect(id: string): boolean {
    return this.libp2p.getConnections().some(c => c.remotePeer.toString() === id && isDirectWebRTC(c))
  }
}
