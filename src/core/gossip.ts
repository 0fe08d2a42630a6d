import { TopicValidatorResult } from '@libp2p/gossipsub'
import { fromString, toString } from 'uint8arrays'
import { PACKAGES_TOPIC } from './constants.ts'
import { describeError } from './errors.ts'
import { verifyRecord } from './package/record.ts'
import { ProtocolError } from './protocols/json-stream.ts'
import { PROTOCOL_LIMITS } from './protocols/messages.ts'
import { ATTR, EXTRA_SPAN, OPERATION, SPAN } from './telemetry/schema.ts'
import { contextFrom, elapsedMs, failSpan, traceparentOf } from './telemetry/tracing.ts'
import type { PackageCatalog } from './catalog/catalog.ts'
import type { PackageRecord } from './package/schema.ts'
import type { PeerFeedback } from './peer-feedback.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Logger, PeerId } from '@libp2p/interface'
import { trace } from '@opentelemetry/api'
import type { Context, Tracer } from '@opentelemetry/api'

export interface PackageGossipComponents {
  pubsub: Pick<
    GossipSub,
    'topicValidators' | 'addEventListener' | 'removeEventListener' | 'subscribe' | 'publish'
  >
  catalog: Pick<PackageCatalog, 'check' | 'add'>
  feedback: Pick<PeerFeedback, 'failure'>
  log: Logger
  tracer: Tracer
}

/** A verified gossip announcement. */
interface GossipAnnouncement {
  record: PackageRecord
  traceparent?: string
}

/**
 * Package announcements on the gossip topic: announces our records
 * (`announce_package`), validates every message before gossipsub forwards it
 * (a peer that sends an invalid one loses reputation) and adds delivered
 * records to the catalog (`receive_package_announcement`, linked to the
 * publisher's span).
 */
export class PackageGossip {
  private readonly pubsub: PackageGossipComponents['pubsub']
  private readonly catalog: PackageGossipComponents['catalog']
  private readonly feedback: PackageGossipComponents['feedback']
  private readonly log: Logger
  private readonly tracer: Tracer
  /** Messages the validator already decoded and verified, so delivery does not verify twice. */
  private readonly validated = new WeakMap<Uint8Array, GossipAnnouncement>()

  constructor(components: PackageGossipComponents) {
    this.pubsub = components.pubsub
    this.catalog = components.catalog
    this.feedback = components.feedback
    this.log = components.log
    this.tracer = components.tracer
  }

  start(): void {
    this.pubsub.topicValidators.set(PACKAGES_TOPIC, this.validate)
    this.pubsub.addEventListener('message', this.onMessage)
    this.pubsub.subscribe(PACKAGES_TOPIC)
  }

  stop(): void {
    this.pubsub.removeEventListener('message', this.onMessage)
    this.pubsub.topicValidators.delete(PACKAGES_TOPIC)
  }

  /** Announces the record on the gossip topic; true when it reached at least one peer. */
  async announce(record: PackageRecord, parent: Context): Promise<boolean> {
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
      const result = await this.pubsub.publish(PACKAGES_TOPIC, message)
      announced = result.recipients.length > 0
      if (!announced) failSpan(span, 'no peer subscribed to the packages topic')
    } catch (err) {
      failSpan(span, err)
    }
    span.setAttribute(ATTR.latencyMs, elapsedMs(start))
    span.end()
    return announced
  }

  private readonly validate = async (
    propagationSource: PeerId,
    message: { data: Uint8Array }
  ): Promise<TopicValidatorResult> => {
    try {
      this.validated.set(message.data, await this.decode(message.data))
      return TopicValidatorResult.Accept
    } catch (err) {
      this.log('rejected gossip from %p - %s', propagationSource, describeError(err))
      this.feedback.failure(propagationSource.toString(), err)
      return TopicValidatorResult.Reject
    }
  }

  private readonly onMessage = (
    evt: CustomEvent<{ topic: string; data: Uint8Array; from?: PeerId }>
  ): void => {
    if (evt.detail.topic !== PACKAGES_TOPIC) return
    const from = evt.detail.from?.toString()
    const known = this.validated.get(evt.detail.data)
    const announcement = known != null ? Promise.resolve(known) : this.decode(evt.detail.data)
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
  private async decode(data: Uint8Array): Promise<GossipAnnouncement> {
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
}
