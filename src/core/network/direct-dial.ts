import { peerIdFromString } from '@libp2p/peer-id'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import { Backoff, withTimeout } from './backoff.ts'
import { isDirectWebRTC } from './connection-info.ts'
import { classifyDialError } from './dial-errors.ts'
import { NotDirectError } from './errors.ts'
import { INITIAL_CONCURRENT_DIRECT_DIALS } from '../constants.ts'
import { describeError } from '../errors.ts'
import type { DialErrorClass } from './dial-errors.ts'
import type {
  DirectConnectorComponents,
  DirectConnectorSettings,
  DirectDialStats
} from './direct-connector-types.ts'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the connector knows of one peer it upgrades. */
export interface Candidate {
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

/** A peer seen for the first time now, not dialled yet. */
export function newCandidate(
  settings: Pick<DirectConnectorSettings, 'maxBackoffMs' | 'dialTimeoutMs'>
): Candidate {
  return {
    firstSeen: Date.now(),
    lastSeen: Date.now(),
    backoff: new Backoff({ initialMs: 500, maxMs: settings.maxBackoffMs }),
    nextAt: 0,
    dialing: false,
    dialled: false,
    attempts: 0,
    timeoutMs: settings.dialTimeoutMs
  }
}

/** Fresh counters for {@link DirectDialStats}. */
export function emptyDialStats(): DirectDialStats {
  return {
    attempts: 0,
    successes: 0,
    failures: 0,
    firstDials: 0,
    firstDialSuccesses: 0,
    recentErrors: [],
    errorsByClass: {},
    attemptsByPeer: {},
    directAfterMs: {},
    window: INITIAL_CONCURRENT_DIRECT_DIALS
  }
}

/** How one dial ended (see {@link DirectDialer.dial}). */
export type DialOutcome = 'skipped' | 'direct' | 'timeout' | 'failed' | 'aborted'

export interface DirectDialerComponents {
  libp2p: Pick<DirectConnectorComponents['libp2p'], 'dial' | 'peerStore'>
  log: Logger
}

export type DirectDialerSettings = Pick<
  DirectConnectorSettings,
  'dialTimeoutMs' | 'maxDialTimeoutMs' | 'onChange' | 'explain'
>

/**
 * Makes one direct dial to a peer's WebRTC address and writes down how it went: in the peer's
 * {@link Candidate} (its error, backoff and next timeout) and in the connector's
 * {@link DirectDialStats}.
 */
export class DirectDialer {
  private readonly libp2p: DirectDialerComponents['libp2p']
  private readonly log: Logger
  private readonly settings: DirectDialerSettings
  private readonly stats: DirectDialStats

  constructor(components: DirectDialerComponents, settings: DirectDialerSettings, stats: DirectDialStats) {
    this.libp2p = components.libp2p
    this.log = components.log
    this.settings = settings
    this.stats = stats
  }

  /**
   * Dials `id` once, if it has a WebRTC address, and says how it ended: `skipped` (no address),
   * `direct`, `timeout`, `failed` (its error is in `candidate`) or `aborted` (by `options.signal`:
   * counts for nothing).
   */
  async dial(id: string, candidate: Candidate, options: AbortOptions = {}): Promise<DialOutcome> {
    const addr = await this.webrtcAddress(id)
    if (addr == null) {
      return 'skipped'
    }
    const first = !candidate.dialled
    candidate.dialled = true
    candidate.attempts++
    this.stats.attempts++
    this.stats.attemptsByPeer[id] = candidate.attempts
    if (first) {
      this.stats.firstDials++
    }
    this.settings.onChange(id)
    const started = Date.now()
    try {
      const conn = await withTimeout(
        candidate.timeoutMs,
        async signal => await this.libp2p.dial(addr, { signal }),
        options.signal
      )
      if (!isDirectWebRTC(conn)) {
        throw new NotDirectError(conn.remoteAddr.toString())
      }
      this.stats.successes++
      if (first) {
        this.stats.firstDialSuccesses++
      }
      candidate.backoff.reset()
      candidate.timeoutMs = this.settings.dialTimeoutMs
      this.stats.directAfterMs[id] ??= Date.now() - candidate.firstSeen
      delete candidate.lastError
      delete candidate.lastErrorClass
      this.log('direct WebRTC connection to %s in %d ms', id, Date.now() - started)
      return 'direct'
    } catch (err) {
      if (options.signal?.aborted === true) {
        return 'aborted'
      }
      return this.failed(id, candidate, err, first, started) === 'timeout' ? 'timeout' : 'failed'
    }
  }

  /** Records a failed dial; returns its class as classified (before any explanation). */
  private failed(
    id: string,
    candidate: Candidate,
    err: unknown,
    first: boolean,
    started: number
  ): ReturnType<typeof classifyDialError> {
    const classified = classifyDialError(err)
    const explained = this.settings.explain?.(classified)
    const errorClass = explained?.errorClass ?? classified
    candidate.lastError = `${describeError(err)}${explained != null ? ` (${explained.hint})` : ''}`
    candidate.lastErrorClass = errorClass
    if (classified === 'timeout') {
      candidate.timeoutMs = Math.min(this.settings.maxDialTimeoutMs, Math.round(candidate.timeoutMs * 1.5))
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
    return classified
  }

  private async webrtcAddress(id: string): Promise<Multiaddr | undefined> {
    const peer = await this.libp2p.peerStore.get(peerIdFromString(id)).catch((err: unknown) => {
      // a peer forgotten meanwhile has no address to dial, and that is all there is to it
      if (!(err instanceof Error && err.name === 'NotFoundError'))
        this.log.error('could not read the addresses of %s from the peer store - %e', id, err)
      return undefined
    })
    const addr = peer?.addresses.map(a => a.multiaddr).find(ma => WebRTC.matches(ma))
    if (addr == null) {
      return undefined
    }
    // peer store addresses lack the target: without it the dial silently
    // returns the existing relayed connection instead of upgrading
    return addr.toString().endsWith(`/p2p/${id}`) ? addr : addr.encapsulate(`/p2p/${id}`)
  }
}
