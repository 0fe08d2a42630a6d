import { TopicValidatorResult } from '@libp2p/gossipsub'
import canonicalize from 'canonicalize'
import { PACKAGES_TOPIC } from '../constants.ts'
import { describeError } from '../errors.ts'
import { CatalogQuotaError, NameUnprovenError } from '../package/errors.ts'
import { verifyRecord } from '../package/record.ts'
import { encodeAnnouncement, parseAnnouncement, remember } from './gossip-message.ts'
import type { GossipAnnouncement, RawAnnouncement } from './gossip-message.ts'
import { holdsRecord } from './record-intake.ts'
import { ATTR, EXTRA_SPAN, OPERATION, SPAN } from '../telemetry/schema.ts'
import { contextFrom, elapsedMs, failSpan, traceparentOf } from '../telemetry/tracing.ts'
import type { OperationOptions } from '../telemetry/tracing.ts'
import type { PackageCatalog } from '../catalog/catalog.ts'
import type { GossipReplays } from './gossip-replays.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { PeerFeedback } from './peer-feedback.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Logger, PeerId } from '@libp2p/interface'
import { context, trace } from '@opentelemetry/api'
import type { Tracer } from '@opentelemetry/api'

export interface PackageGossipComponents {
  pubsub: Pick<
    GossipSub,
    'topicValidators' | 'addEventListener' | 'removeEventListener' | 'subscribe' | 'publish'
  >
  catalog: Pick<
    PackageCatalog,
    'check' | 'prove' | 'room' | 'add' | 'get' | 'addEventListener' | 'removeEventListener'
  >
  feedback: Pick<PeerFeedback, 'failure'>
  /** Counts the replays each peer sends (fed to gossipsub's score). */
  replays: Pick<GossipReplays, 'record'>
  log: Logger
  tracer: Tracer
}

/**
 * Records verified at once at most, each remembered (by its JCS encoding,
 * ≤ 16 KiB) while it is verified so that copies arriving meanwhile wait for its
 * verdict; past this, copies are verified on their own.
 */
const MAX_VERIFYING = 64

/**
 * Records accepted lately, remembered (by their JCS encoding) until the catalog holds them: a
 * burst of copies arrives faster than the first one is written (300 copies from one peer were
 * all validated before the first reached the catalog, and each was accepted and forwarded).
 */
const MAX_ACCEPTED = 256

/**
 * Package announcements on the gossip topic: announces our records
 * (`announce_package`), validates every message before gossipsub forwards it
 * (a peer that sends an invalid one loses reputation; a record the node holds
 * already is ignored unverified and counted as a replay against its sender)
 * and adds delivered records to the catalog (`receive_package_announcement`,
 * linked to the publisher's span).
 */
export class PackageGossip {
  private readonly pubsub: PackageGossipComponents['pubsub']
  private readonly catalog: PackageGossipComponents['catalog']
  private readonly feedback: PackageGossipComponents['feedback']
  private readonly replays: PackageGossipComponents['replays']
  private readonly log: Logger
  private readonly tracer: Tracer
  /** Messages the validator already decoded and verified, so delivery does not verify twice. */
  private readonly validated = new WeakMap<Uint8Array, GossipAnnouncement>()
  /** The verdicts of records being verified, by their JCS encoding. */
  private readonly verifying = new Map<string, Promise<TopicValidatorResult>>()
  /** Records accepted and not yet in the catalog, by their JCS encoding, oldest first. */
  private readonly accepted = new Set<string>()
  /**
   * Records that reached the catalog by the DHT and not yet by gossip, by their JCS encoding,
   * oldest first: a publisher stores its record in the DHT and announces it at the same time, so
   * on a DHT server the announcement often comes second. Its first copy is forwarded, not a replay.
   */
  private readonly awaitingGossip = new Set<string>()

  constructor(components: PackageGossipComponents) {
    this.pubsub = components.pubsub
    this.catalog = components.catalog
    this.feedback = components.feedback
    this.replays = components.replays
    this.log = components.log
    this.tracer = components.tracer
  }

  start(): void {
    this.pubsub.topicValidators.set(PACKAGES_TOPIC, this.validate)
    this.pubsub.addEventListener('message', this.onMessage)
    this.catalog.addEventListener('package', this.onPackage)
    this.pubsub.subscribe(PACKAGES_TOPIC)
  }

  stop(): void {
    this.pubsub.removeEventListener('message', this.onMessage)
    this.catalog.removeEventListener('package', this.onPackage)
    this.pubsub.topicValidators.delete(PACKAGES_TOPIC)
  }

  private readonly onPackage = (evt: CustomEvent<{ record: PackageRecord; source: string }>): void => {
    if (evt.detail.source !== 'dht') return
    remember(this.awaitingGossip, canonicalize(evt.detail.record) ?? '', MAX_ACCEPTED)
  }

  /** Announces the record on the gossip topic; true when it reached at least one peer. */
  async announce(record: PackageRecord, options: OperationOptions = {}): Promise<boolean> {
    const parent = options.parent ?? context.active()
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
    const message = encodeAnnouncement(record, traceparentOf(trace.setSpan(parent, span)))
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

  /**
   * The topic validator. A record this node holds (the same JCS encoding), or
   * one that a copy being verified right now turns out to be, is ignored before
   * any signature check: gossipsub neither delivers nor forwards it, and does
   * not penalise it as invalid, so the replay is counted against the sender's
   * score here. Anything else is verified; a message that fails is rejected.
   */
  private readonly validate = async (
    propagationSource: PeerId,
    message: { data: Uint8Array }
  ): Promise<TopicValidatorResult> => {
    let announcement: RawAnnouncement
    let canonical: string | undefined
    try {
      announcement = parseAnnouncement(message.data)
      canonical = canonicalize(announcement.record)
    } catch (err) {
      return this.reject(propagationSource, err)
    }
    const pending = canonical != null ? this.verifying.get(canonical) : undefined
    // the first announcement of a record that came by the DHT: delivered and forwarded, verified already
    if (canonical != null && this.awaitingGossip.delete(canonical)) {
      const { id, version } = announcement.record as Pick<PackageRecord, 'id' | 'version'>
      const held = this.catalog.get(id, version)
      if (held != null) this.validated.set(message.data, { ...announcement, record: held })
      return TopicValidatorResult.Accept
    }
    if (
      holdsRecord(this.catalog, announcement.record, canonical) ||
      (canonical != null && this.accepted.has(canonical)) ||
      (pending != null && (await pending) === TopicValidatorResult.Accept)
    ) {
      this.replays.record(propagationSource.toString())
      this.log('ignored gossip from %p - a record this node holds (a replay)', propagationSource)
      return TopicValidatorResult.Ignore
    }
    const verdict = this.verify(propagationSource, message.data, announcement)
    if (canonical != null && this.verifying.size < MAX_VERIFYING) {
      const key = canonical
      this.verifying.set(key, verdict)
      void verdict.finally(() => {
        if (this.verifying.get(key) === verdict) this.verifying.delete(key)
      })
    }
    const result = await verdict
    // noted until the catalog has it (then `holdsRecord` answers for it)
    if (result === TopicValidatorResult.Accept && canonical != null)
      remember(this.accepted, canonical, MAX_ACCEPTED)
    return result
  }

  /** Verifies the record of a message and checks it against the catalog's rules; never throws. */
  private async verify(
    propagationSource: PeerId,
    data: Uint8Array,
    announcement: RawAnnouncement
  ): Promise<TopicValidatorResult> {
    try {
      const record = await verifyRecord(announcement.record)
      this.catalog.check(record)
      if (!this.hasRoom(record)) return TopicValidatorResult.Ignore
      if (!(await this.nameProven(record))) return TopicValidatorResult.Ignore
      this.validated.set(data, { ...announcement, record })
      return TopicValidatorResult.Accept
    } catch (err) {
      return this.reject(propagationSource, err)
    }
  }

  /**
   * A valid record the catalog has no room for (`CatalogQuotaError`) is ignored: not stored, not
   * forwarded, and not held against the sender, which may be an honest relay passing it on.
   */
  private hasRoom(record: PackageRecord): boolean {
    try {
      this.catalog.room(record.publisher)
      return true
    } catch (err) {
      if (!(err instanceof CatalogQuotaError)) throw err
      this.log('ignored gossip of %s@%s - %s', record.id, record.version, err.message)
      return false
    }
  }

  /**
   * A record in a domain namespace whose domain does not list its publisher, or whose list cannot
   * be read now (`NameUnprovenError`), is ignored: not stored, not forwarded, and not held against
   * the sender (a list may change, or be out of one node's reach and not another's).
   */
  private async nameProven(record: PackageRecord): Promise<boolean> {
    try {
      await this.catalog.prove(record)
      return true
    } catch (err) {
      if (!(err instanceof NameUnprovenError)) throw err
      this.log('ignored gossip of %s@%s - %s', record.id, record.version, err.message)
      return false
    }
  }

  private reject(propagationSource: PeerId, err: unknown): TopicValidatorResult {
    this.log('rejected gossip from %p - %s', propagationSource, describeError(err))
    this.feedback.failure(propagationSource.toString(), err)
    return TopicValidatorResult.Reject
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
          // held now (or refused after all): the catalog answers for it from here
          this.accepted.delete(canonicalize(record) ?? '')
        }
      })
      .catch(err => {
        this.log('gossip record not added - %s', describeError(err))
      })
  }

  /** Decodes, verifies and checks a gossip message; throws on anything wrong. */
  private async decode(data: Uint8Array): Promise<GossipAnnouncement> {
    const announcement = parseAnnouncement(data)
    const record = await verifyRecord(announcement.record)
    this.catalog.check(record)
    return { ...announcement, record }
  }
}
