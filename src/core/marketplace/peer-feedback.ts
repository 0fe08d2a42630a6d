import { describeError } from '../errors.ts'
import { ATTR, OPERATION, SPAN } from '../telemetry/schema.ts'
import type { ReputationBook } from './reputation.ts'
import type { Attributes, Context, Tracer } from '@opentelemetry/api'

export interface PeerFeedbackComponents {
  reputation: Pick<ReputationBook, 'recordSuccess' | 'recordFailure'>
  tracer: Tracer
}

/**
 * How a peer did, into its reputation and as the spec's `record_peer_success`
 * / `record_peer_failure` span (a child of `parent`, or of the active context).
 * Search fan-out, DHT lookups, catalog sync and gossip validation report here.
 */
export class PeerFeedback {
  private readonly reputation: PeerFeedbackComponents['reputation']
  private readonly tracer: Tracer

  constructor(components: PeerFeedbackComponents) {
    this.reputation = components.reputation
    this.tracer = components.tracer
  }

  /** A valid answer after `responseMs` that brought `provided` new records. */
  success(peerId: string, responseMs: number, provided: number, parent?: Context): void {
    const score = this.reputation.recordSuccess(peerId, responseMs, provided)
    this.span(
      SPAN.recordPeerSuccess,
      {
        [ATTR.peerId]: peerId,
        [ATTR.responseTimeMs]: responseMs,
        [ATTR.result]: 'success',
        [ATTR.newReputationScore]: score
      },
      parent
    )
  }

  /** A timeout, an error or invalid records. */
  failure(peerId: string, err: unknown, parent?: Context): void {
    const score = this.reputation.recordFailure(peerId)
    this.span(
      SPAN.recordPeerFailure,
      {
        [ATTR.peerId]: peerId,
        [ATTR.result]: 'failure',
        [ATTR.newReputationScore]: score,
        [ATTR.error]: describeError(err)
      },
      parent
    )
  }

  private span(name: string, attributes: Attributes, parent: Context | undefined): void {
    this.tracer
      .startSpan(
        name,
        { attributes: { [ATTR.operation]: OPERATION.peerReputationUpdate, ...attributes } },
        parent
      )
      .end()
  }
}
