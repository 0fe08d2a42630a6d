import { describeError } from './errors.ts'
import { verifyRecord } from './package/record.ts'
import { LIMITS } from './package/schema.ts'
import type { PackageCatalog, RecordSource } from './catalog/catalog.ts'
import type { PackageRecord } from './package/schema.ts'

/** What a batch of records received from a peer amounted to. */
export interface Intake {
  /** Records that were new to the catalog, in the order received. */
  added: PackageRecord[]
  known: number
  invalid: number
  /** Why the first invalid record was refused. */
  firstError?: string
}

/** Told which records a search brought in and where from, so results can say their source. */
export type OnRecordsAdded = (records: PackageRecord[], source: 'peer' | 'dht', from: string) => void

/**
 * Verifies each record (size, schema, signature) and adds it to the catalog.
 * A record that fails verification or that the catalog refuses is counted as
 * invalid, not thrown, so one bad record does not hide the good ones beside it.
 */
export async function intakeRecords(
  catalog: Pick<PackageCatalog, 'add'>,
  records: unknown[],
  source: RecordSource,
  from: string
): Promise<Intake> {
  const intake: Intake = { added: [], known: 0, invalid: 0 }
  for (const raw of records) {
    try {
      if (JSON.stringify(raw).length > LIMITS.recordBytes)
        throw new Error(`record exceeds ${LIMITS.recordBytes} bytes`)
      const record = await verifyRecord(raw)
      if ((await catalog.add(record, source, from)) === 'added') intake.added.push(record)
      else intake.known++
    } catch (err) {
      intake.invalid++
      intake.firstError ??= describeError(err)
    }
  }
  return intake
}
