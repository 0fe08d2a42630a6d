import { Key } from 'interface-datastore'
import { fromString, toString } from 'uint8arrays'
import type { Datastore } from 'interface-datastore'
import { describeError } from '../errors.ts'

/** What we know about how a peer has answered our requests. */
export interface PeerRecordStats {
  successes: number
  failures: number
  /** Exponential moving average of response times (0.7·old + 0.3·new), once known. */
  avgResponseMs?: number
  /** Distinct valid package records this peer has given us. */
  packagesProvided: number
  /** Epoch ms of the last time we heard from the peer. */
  lastSeen: number
}

/**
 * The seed system's reputation formula (without its geographic bonus):
 * `min(1, 0.5·success_rate + 0.25·min(1, 1000/(avg_ms+1)) + 0.15·min(1, packages/10) + 0.10·min(1, 1/(hours_since_seen+1)))`.
 * With no requests yet the success rate counts as 1; an unknown response time
 * contributes nothing (rather than the formula's best case).
 */
export function reputationScore(stats: PeerRecordStats, now = Date.now()): number {
  const total = stats.successes + stats.failures
  const successRate = total === 0 ? 1 : stats.successes / total
  const speed = stats.avgResponseMs == null ? 0 : Math.min(1, 1000 / (stats.avgResponseMs + 1))
  const provided = Math.min(1, stats.packagesProvided / 10)
  const hoursSinceSeen = Math.max(0, now - stats.lastSeen) / 3_600_000
  const recency = Math.min(1, 1 / (hoursSinceSeen + 1))
  return Math.min(1, 0.5 * successRate + 0.25 * speed + 0.15 * provided + 0.1 * recency)
}

/** Folds one response time into the moving average. */
export function nextAverage(previous: number | undefined, sampleMs: number): number {
  return previous == null ? sampleMs : 0.7 * previous + 0.3 * sampleMs
}

const STORE_KEY = new Key('/marketplace/reputation')

/** Reputation of every peer we have dealt with; persisted when given a datastore. */
export class ReputationBook {
  private readonly peers = new Map<string, PeerRecordStats>()
  private readonly datastore?: Datastore
  private saveTimer?: ReturnType<typeof setTimeout>

  constructor(datastore?: Datastore) {
    this.datastore = datastore
  }

  /** Loads the scores saved by an earlier run. */
  async load(): Promise<void> {
    if (this.datastore == null || !(await this.datastore.has(STORE_KEY))) return
    try {
      const saved = JSON.parse(toString(await this.datastore.get(STORE_KEY))) as Record<
        string,
        PeerRecordStats
      >
      for (const [peerId, stats] of Object.entries(saved)) this.peers.set(peerId, stats)
    } catch {
      // a corrupt entry only loses history: start afresh
    }
  }

  /** Writes the scores now (also done, debounced, after every change). */
  async flush(): Promise<void> {
    clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    await this.datastore?.put(STORE_KEY, fromString(JSON.stringify(Object.fromEntries(this.peers))))
  }

  private changed(): void {
    if (this.datastore == null || this.saveTimer != null) return
    this.saveTimer = setTimeout(() => {
      this.flush().catch((err: unknown) => {
        // the scores stay in memory and are written again with the next change
        console.warn(`reputation: the peers' scores could not be saved - ${describeError(err)}`)
      })
    }, 1000)
  }

  get(peerId: string): PeerRecordStats {
    let stats = this.peers.get(peerId)
    if (stats == null) {
      stats = { successes: 0, failures: 0, packagesProvided: 0, lastSeen: Date.now() }
      this.peers.set(peerId, stats)
    }
    return stats
  }

  score(peerId: string, now = Date.now()): number {
    return reputationScore(this.get(peerId), now)
  }

  /** Records an answer received after `responseMs`; returns the new score. */
  recordSuccess(peerId: string, responseMs: number, packagesProvided = 0): number {
    const stats = this.get(peerId)
    stats.successes++
    stats.avgResponseMs = nextAverage(stats.avgResponseMs, responseMs)
    stats.packagesProvided += packagesProvided
    stats.lastSeen = Date.now()
    this.changed()
    return this.score(peerId)
  }

  /** Records a timeout, error or invalid answer; returns the new score. */
  recordFailure(peerId: string): number {
    const stats = this.get(peerId)
    stats.failures++
    this.changed()
    return this.score(peerId)
  }

  /** Marks a peer as seen (connected) without a request. */
  seen(peerId: string): void {
    this.get(peerId).lastSeen = Date.now()
  }
}
