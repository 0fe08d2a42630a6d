import type { DialErrorClass, DialErrorExplanation } from './dial-errors.ts'
import type { Libp2p, Logger } from '@libp2p/interface'

/** Counters of `DirectConnector`, for the UI and benchmarks. */
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
  /** Dials allowed in flight now (the window that grows with direct dials and halves on timeouts). */
  window: number
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
  /** The dial is due but waits for one of this node's other upgrades to finish (the window of dials in flight is full). */
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
   * Dials in flight at once, at most; the others wait their turn (designated pairs and pairs
   * dialled least first). The window starts at `initialConcurrentDials`, grows by one with each
   * dial that ends direct and halves with each that times out. @default 6
   */
  maxConcurrentDials?: number
  /** Where the window of dials in flight starts. @default 3 */
  initialConcurrentDials?: number
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

/** {@link DirectConnectorInit} with every default filled in. */
export type DirectConnectorSettings = Required<
  Omit<DirectConnectorInit, 'isRelay' | 'onChange' | 'explain'>
> &
  Pick<DirectConnectorInit, 'isRelay' | 'onChange' | 'explain'>
