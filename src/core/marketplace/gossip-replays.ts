export interface GossipReplaysInit {
  /** Peers whose replays are remembered; past this, the one that replayed longest ago is forgotten. @default 1024 */
  maxPeers?: number
  /** Half-life of a replay's weight, ms. @default 60000 */
  halfLifeMs?: number
  /**
   * Application-specific score of one replay; gossipsub multiplies it by its
   * `appSpecificWeight` (10 by default), so a replay costs 1 point of a score
   * whose thresholds are -10 (no gossip), -50 (no publishing) and -80 (graylist).
   * @default -0.1
   */
  scorePerReplay?: number
  /** Replays counted at most, so that a peer's score recovers within a bounded time. @default 1000 */
  maxReplays?: number
}

/** One remembered peer: its replays, decayed to `at`. */
interface PeerReplays {
  replays: number
  at: number
}

/**
 * Replays on the packages topic: gossip messages that carried a record this
 * node already held. They are ignored (neither delivered nor forwarded, no
 * signature checked), which gossipsub does not score, so each is counted here
 * against the peer that sent it and fed back to gossipsub as its
 * application-specific score (P5, `scoreParams.appSpecificScore`): a replay
 * lowers the sender's score a little, a flood of them takes it under the
 * gossip, publish and graylist thresholds. Counts decay exponentially and at
 * most `maxPeers` peers are remembered (least recently seen replaying first out).
 */
export class GossipReplays {
  private readonly peers = new Map<string, PeerReplays>()
  private readonly maxPeers: number
  private readonly halfLifeMs: number
  private readonly scorePerReplay: number
  private readonly maxReplays: number

  constructor(init: GossipReplaysInit = {}) {
    this.maxPeers = init.maxPeers ?? 1024
    this.halfLifeMs = init.halfLifeMs ?? 60_000
    this.scorePerReplay = init.scorePerReplay ?? -0.1
    this.maxReplays = init.maxReplays ?? 1000
    if (!(this.maxPeers >= 1 && this.halfLifeMs > 0 && this.scorePerReplay <= 0 && this.maxReplays > 0)) {
      throw new RangeError(
        'GossipReplays: maxPeers must be at least 1, halfLifeMs and maxReplays above 0, scorePerReplay 0 or below'
      )
    }
  }

  /** `peerId` sent a replay. */
  record(peerId: string, now = Date.now()): void {
    const replays = Math.min(this.maxReplays, this.replays(peerId, now) + 1)
    // re-inserted, so the Map's order is least recently replaying first
    this.peers.delete(peerId)
    this.peers.set(peerId, { replays, at: now })
    if (this.peers.size > this.maxPeers) {
      const oldest = this.peers.keys().next()
      if (oldest.done !== true) this.peers.delete(oldest.value)
    }
  }

  /** The replays of `peerId`, decayed to `now`. */
  replays(peerId: string, now = Date.now()): number {
    const peer = this.peers.get(peerId)
    if (peer == null) return 0
    return peer.replays * 0.5 ** (Math.max(0, now - peer.at) / this.halfLifeMs)
  }

  /** gossipsub's `scoreParams.appSpecificScore`: 0 for a peer that replays nothing, negative for one that does. */
  readonly appSpecificScore = (peerId: string): number => {
    const replays = this.replays(peerId)
    return replays === 0 ? 0 : this.scorePerReplay * replays
  }
}
