import canonicalize from 'canonicalize'
import { describeError } from '../errors.ts'
import { CatalogQuotaError, InvalidRecordError, NameUnprovenError } from '../package/errors.ts'
import { verifyRecord } from '../package/record.ts'
import { LIMITS, utf8Length } from '../package/schema.ts'
import type { PackageCatalog, RecordSource } from '../catalog/catalog.ts'
import type { PackageRecord } from '../package/schema.ts'

/** What a batch of records received from a peer amounted to. */
export interface Intake {
  /** Records that were new to the catalog, in the order received. */
  added: PackageRecord[]
  known: number
  invalid: number
  /**
   * Valid records the catalog had no room for (`CatalogQuotaError`), or in a domain namespace whose
   * list does not name the publisher or could not be read (`NameUnprovenError`): not the sender's fault.
   */
  refused: number
  /** Why the first invalid record was refused. */
  firstError?: string
}

/** Told which records a search brought in and where from, so results can say their source. */
export type OnRecordsAdded = (records: PackageRecord[], source: 'peer' | 'dht', from: string) => void

/**
 * Verifies each record (size, schema, signature) and adds it to the catalog.
 * A record that fails verification or that the catalog refuses is counted as
 * invalid, not thrown, so one bad record does not hide the good ones beside it.
 * A record identical to one the catalog holds (which was verified on its way
 * in) is counted as known without checking its signature again: catalog syncs
 * and search answers mostly bring records a node has, and verifying each was
 * a third of a busy network's CPU (the 200-node simulation's profile).
 */
export async function intakeRecords(
  catalog: Pick<PackageCatalog, 'add' | 'get'>,
  records: unknown[],
  source: RecordSource,
  from: string
): Promise<Intake> {
  const intake: Intake = { added: [], known: 0, invalid: 0, refused: 0 }
  for (const raw of records) {
    try {
      // a cheap bound before anything walks the record; verifyRecord checks its exact encoding
      const bytes = utf8Length(JSON.stringify(raw))
      if (bytes > LIMITS.recordBytes)
        throw new InvalidRecordError('size', `record is ${bytes} bytes; the limit is ${LIMITS.recordBytes}`)
      if (holdsRecord(catalog, raw)) {
        intake.known++
        continue
      }
      const record = await verifyRecord(raw)
      if ((await catalog.add(record, source, from)) === 'added') intake.added.push(record)
      else intake.known++
    } catch (err) {
      if (err instanceof CatalogQuotaError || err instanceof NameUnprovenError) {
        intake.refused++
        continue
      }
      intake.invalid++
      intake.firstError ??= describeError(err)
    }
  }
  return intake
}

/**
 * Whether the catalog holds exactly this record: a record's identity is its
 * whole JCS encoding (id, version, publisher, signature and every other field),
 * so a held record with any field altered is not "held" and gets verified.
 * The lookup is two map reads; `canonical` is the JCS of `raw` when the caller
 * has it already.
 */
export function holdsRecord(
  catalog: Pick<PackageCatalog, 'get'>,
  raw: unknown,
  canonical: string | undefined = undefined
): boolean {
  if (typeof raw !== 'object' || raw == null) return false
  const { id, version } = raw as { id?: unknown; version?: unknown }
  if (typeof id !== 'string' || typeof version !== 'string') return false
  const held = catalog.get(id, version)
  return held != null && canonicalize(held) === (canonical ?? canonicalize(raw))
}
