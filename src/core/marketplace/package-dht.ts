import { fromString, toString } from 'uint8arrays'
import { withTimeout } from '../network/backoff.ts'
import { latestKey, versionKey } from './dht-records.ts'
import { describeError } from '../errors.ts'
import { encodeRecord } from '../package/record.ts'
import { intakeRecords } from './record-intake.ts'
import { ATTR, OPERATION, SPAN } from '../telemetry/schema.ts'
import { elapsedMs, failSpan } from '../telemetry/tracing.ts'
import type { OperationOptions } from '../telemetry/tracing.ts'
import type { PackageCatalog } from '../catalog/catalog.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { PeerFeedback } from './peer-feedback.ts'
import type { OnRecordsAdded } from './record-intake.ts'
import type { AbortOptions, Libp2p, Logger } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Tracer } from '@opentelemetry/api'

export interface PackageDhtComponents {
  libp2p: Pick<Libp2p<{ dht: KadDHT }>, 'peerId' | 'services'>
  catalog: Pick<PackageCatalog, 'add' | 'get'>
  feedback: Pick<PeerFeedback, 'failure'>
  log: Logger
  tracer: Tracer
}

export interface PackageDhtInit {
  /** Timeout of a lookup or store, ms. */
  timeoutMs: number
}

/** Span events one `store_in_dht` records at most (see {@link PackageDht.store}). */
const MAX_PUT_EVENTS = 64

/**
 * Package records in the DHT: stores a record under its version and latest
 * keys (`store_in_dht`) and looks a key up. The values themselves are
 * validated, and the best of them selected, by kad-dht with `dht-records.ts`.
 */
export class PackageDht {
  private readonly libp2p: PackageDhtComponents['libp2p']
  private readonly catalog: PackageDhtComponents['catalog']
  private readonly feedback: PackageDhtComponents['feedback']
  private readonly log: Logger
  private readonly tracer: Tracer
  private readonly timeoutMs: number

  constructor(components: PackageDhtComponents, init: PackageDhtInit) {
    this.libp2p = components.libp2p
    this.catalog = components.catalog
    this.feedback = components.feedback
    this.log = components.log
    this.tracer = components.tracer
    this.timeoutMs = init.timeoutMs
  }

  /** Puts the record under its version key and its latest key; true when a DHT server acknowledged it. */
  async store(record: PackageRecord, options: OperationOptions = {}): Promise<boolean> {
    const value = encodeRecord(record)
    const span = this.tracer.startSpan(
      SPAN.storeInDht,
      {
        attributes: {
          [ATTR.operation]: OPERATION.dhtPut,
          [ATTR.packageId]: record.id,
          [ATTR.peerId]: this.libp2p.peerId.toString(),
          [ATTR.recordSizeBytes]: value.byteLength
        }
      },
      options.parent
    )
    const start = performance.now()
    let acknowledged = 0
    const errors: string[] = []
    // where the time goes, as span events: each lookup's answers, the closest peers it ended
    // with, each acknowledgement and error (at most MAX_PUT_EVENTS: a lookup can ask many peers)
    let events = 0
    const note = (name: string, key: 'version' | 'latest', peer: string, error?: string): void => {
      if (events++ >= MAX_PUT_EVENTS) return
      span.addEvent(name, {
        [ATTR.dhtKey]: key,
        [ATTR.peerId]: peer,
        ...(error != null ? { [ATTR.error]: error } : {}),
        [ATTR.latencyMs]: elapsedMs(start)
      })
    }
    try {
      await withTimeout(
        this.timeoutMs,
        async timeoutSignal => {
          const keys = [
            ['version', versionKey(record.id, record.version)],
            ['latest', latestKey(record.id)]
          ] as const
          await Promise.all(
            keys.map(async ([kind, key]) => {
              // kad-dht neither validates before put nor throws when every peer refuses:
              // the publish validated the record, and we count the servers that acknowledged
              for await (const event of this.libp2p.services.dht.put(fromString(key), value, {
                signal: timeoutSignal
              })) {
                if (event.name === 'PEER_RESPONSE') {
                  if (event.messageName === 'PUT_VALUE') acknowledged++
                  note(
                    event.messageName === 'PUT_VALUE' ? 'acknowledged' : 'lookup_answer',
                    kind,
                    event.from.toString()
                  )
                } else if (event.name === 'FINAL_PEER') {
                  note('closest_peer', kind, event.peer.id.toString())
                } else if (event.name === 'QUERY_ERROR') {
                  errors.push(describeError(event.error))
                  note('dht_error', kind, event.from.toString(), describeError(event.error))
                }
              }
            })
          )
        },
        options.signal
      )
    } catch (err) {
      errors.push(describeError(err))
    }
    span.setAttributes({ [ATTR.latencyMs]: elapsedMs(start), [ATTR.successfulResponses]: acknowledged })
    if (acknowledged === 0) failSpan(span, errors[0] ?? 'no DHT server acknowledged the record')
    span.end()
    return acknowledged > 0
  }

  /**
   * Gets `key` from the DHT (kad-dht answers the best value its peers gave,
   * by the selector) and adds the record to the catalog (a peer that serves an
   * invalid one loses reputation). Resolves with the catalog's record for the
   * key afterwards: for a latest key that is never lower than a version this
   * node already held. Undefined when none, also on timeout or error.
   * `onAdded` learns which records were new, and from whom.
   */
  async lookup(
    key: string,
    options: AbortOptions & { onAdded?: OnRecordsAdded } = {}
  ): Promise<PackageRecord | undefined> {
    try {
      return await withTimeout(
        this.timeoutMs,
        async timeout => {
          for await (const event of this.libp2p.services.dht.get(fromString(key), { signal: timeout })) {
            if (event.name !== 'VALUE') continue
            const from = event.from.toString()
            const intake = await intakeRecords(
              this.catalog,
              [JSON.parse(toString(event.value)) as unknown],
              'dht',
              from
            )
            if (intake.invalid > 0) {
              this.feedback.failure(from, new Error(intake.firstError))
              continue
            }
            // the catalog's record for the key: under a latest key, what the DHT gave or a higher version held here
            const record = this.recordForKey(key) ?? intake.added[0]
            if (record != null) {
              options.onAdded?.(intake.added, 'dht', from)
              return record
            }
          }
          return undefined
        },
        options.signal
      )
    } catch (err) {
      this.log('DHT lookup of %s failed - %s', key, describeError(err))
      return undefined
    }
  }

  /** The record a key names, when the catalog has it: that version, or the highest one for a latest key. */
  private recordForKey(key: string): PackageRecord | undefined {
    const rest = key.slice(latestKey('').length)
    const parts = rest.split('/')
    return parts.length === 3 ? this.catalog.get(`${parts[0]}/${parts[1]}`, parts[2]) : this.catalog.get(rest)
  }
}
