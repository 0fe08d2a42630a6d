import { Key } from 'interface-datastore'
import { fromString, toString } from 'uint8arrays'
import { encodeRecord } from '../package/record.ts'
import { MAX_CLOCK_SKEW_MS, recordSchema } from '../package/schema.ts'
import type { CatalogLoadReport } from './catalog-types.ts'
import type { PackageRecord } from '../package/schema.ts'
import type { Datastore } from 'interface-datastore'

const RECORDS = '/marketplace/catalog/records'
const SEQ = '/marketplace/catalog/seq'
const EPOCH = new Key('/marketplace/catalog/epoch')

/**
 * A catalog in a datastore: each record under its id and version, and a sequence entry per
 * record that keeps the order they arrived in, with the catalog's epoch beside them.
 */
export class CatalogStore {
  private readonly datastore: Datastore

  constructor(datastore: Datastore) {
    this.datastore = datastore
  }

  /** The catalog's epoch: the one stored, or a new one, stored now. */
  async epoch(): Promise<string> {
    if (await this.datastore.has(EPOCH)) return toString(await this.datastore.get(EPOCH))
    const epoch = toString(crypto.getRandomValues(new Uint8Array(12)), 'base64url')
    await this.datastore.put(EPOCH, fromString(epoch))
    return epoch
  }

  /**
   * Reads every stored record in arrival order and hands each to `onRecord` with its sequence
   * number. Unreadable entries are left out; records dated ahead of the clock are deleted.
   */
  async load(onRecord: (record: PackageRecord, seq: number) => void): Promise<CatalogLoadReport> {
    const report: CatalogLoadReport = { records: 0, unreadable: 0, futureDated: 0, examples: [] }
    const leftOut = (key: Key, reason: string): void => {
      if (report.examples.length < 5) report.examples.push(`${key.toString()}: ${reason}`)
    }
    const now = Date.now()
    for await (const { key, value } of this.datastore.query({ prefix: SEQ, orders: [] })) {
      const seq = Number(key.baseNamespace())
      const ref = toString(value)
      const recordKey = new Key(`${RECORDS}/${ref}`)
      let parsed
      try {
        parsed = recordSchema.safeParse(JSON.parse(toString(await this.datastore.get(recordKey))))
      } catch (err) {
        report.unreadable++
        leftOut(recordKey, err instanceof Error ? err.message : String(err))
        continue
      }
      if (!parsed.success) {
        report.unreadable++
        leftOut(recordKey, parsed.error.issues[0]?.message ?? 'not a package record')
        continue
      }
      if (Date.parse(parsed.data.publishedAt) - now > MAX_CLOCK_SKEW_MS) {
        report.futureDated++
        leftOut(recordKey, `dated ${parsed.data.publishedAt}, ahead of this clock`)
        const batch = this.datastore.batch()
        batch.delete(recordKey)
        batch.delete(key)
        await batch.commit()
        continue
      }
      onRecord(parsed.data, seq)
      report.records++
    }
    return report
  }

  /** Writes `record` and its sequence entry in one batch: a failed write leaves neither behind. */
  async write(record: PackageRecord, seq: number): Promise<void> {
    const ref = `${record.id}/${record.version}`
    const batch = this.datastore.batch()
    batch.put(new Key(`${RECORDS}/${ref}`), encodeRecord(record))
    batch.put(new Key(`${SEQ}/${String(seq).padStart(12, '0')}`), fromString(ref))
    await batch.commit()
  }
}
