import { Record } from '@libp2p/kad-dht'
import { fromString } from 'uint8arrays'
import {
  DHT_DATASTORE_PREFIX,
  dhtStoreKey,
  latestKey,
  versionKey
} from '../src/core/marketplace/dht-records.ts'
import { describeError } from '../src/core/errors.ts'
import { encodeRecord } from '../src/core/package/record.ts'
import type { PackageCatalog, PackageEvent } from '../src/core/catalog/catalog.ts'
import type { PackageRecord } from '../src/core/package/schema.ts'
import type { Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export interface DhtMirrorComponents {
  /** The datastore the relay's kad-dht uses. */
  datastore: Pick<Datastore, 'put'>
  catalog: Pick<PackageCatalog, 'get' | 'records' | 'addEventListener' | 'removeEventListener'>
  log: Logger
}

export interface DhtMirrorInit {
  /**
   * Every record is written again this often (ms), and once at start: kad-dht drops a record 48 h
   * after it was received (`PROVIDERS_VALIDITY`), and a relay restarted after its records' time
   * would have answered no lookup for them although its catalog holds them. @default 24 h
   */
  refreshEveryMs?: number
}

/** What {@link DhtMirror} has done, for `/healthz` and tests. */
export interface DhtMirrorStats {
  /** Records stored under their keys. */
  stored: number
  /** Records waiting to be stored. */
  pending: number
  /** Records that could not be written. */
  failures: number
  /** Times the whole catalog was written again (at start, then every `refreshEveryMs`). */
  refreshes: number
}

/**
 * Keeps the relay's DHT records in step with its catalog: each record the
 * catalog accepts, from gossip, a sync or a search answer, is stored under its
 * version key, and under its latest key when it is the newest version held.
 *
 * A publisher's own PUT can miss: it has a 5 s budget, which a busy machine
 * overruns, and the tab may close right after publishing. Without this the
 * relay, the only DHT server tabs reach, would never answer a lookup for such
 * a record although its catalog holds it.
 *
 * The records are written straight into kad-dht's store, as a PUT from a peer
 * would leave them: kad-dht has no local-only put (its `put` also walks the
 * network for the closest servers, which with no other server waits for its
 * timeout). Peer relays need no copy from here: each mirrors its own catalog,
 * which gossip and the relays' catalog sync keep complete. The whole catalog is
 * written again at start and every `refreshEveryMs`, so no record expires.
 */
export class DhtMirror {
  readonly stats: DhtMirrorStats = { stored: 0, pending: 0, failures: 0, refreshes: 0 }
  private readonly datastore: DhtMirrorComponents['datastore']
  private readonly catalog: DhtMirrorComponents['catalog']
  private readonly log: Logger
  private readonly refreshEveryMs: number
  private stopped = false
  private tail: Promise<void> = Promise.resolve()
  private timer?: ReturnType<typeof setInterval>

  constructor(components: DhtMirrorComponents, init: DhtMirrorInit = {}) {
    this.datastore = components.datastore
    this.catalog = components.catalog
    this.log = components.log
    this.refreshEveryMs = init.refreshEveryMs ?? 24 * 60 * 60_000
  }

  start(): void {
    this.stopped = false
    this.catalog.addEventListener('package', this.onPackage)
    this.refresh()
    this.timer = setInterval(() => this.refresh(), this.refreshEveryMs)
    this.timer.unref?.()
  }

  /** Stops taking records and waits for the one being stored (the rest are dropped). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.catalog.removeEventListener('package', this.onPackage)
    this.stopped = true
    await this.tail
  }

  /** Writes every record of the catalog again, after those already waiting. */
  private refresh(): void {
    this.tail = this.tail.then(async () => {
      let n = 0
      for (const record of [...this.catalog.records()]) {
        if (this.stopped) return
        await this.mirror(record, false)
        n++
      }
      this.stats.refreshes++
      this.log('wrote %d records into the DHT store again', n)
    })
  }

  /** Resolves once every record accepted so far has been stored (or failed). */
  async idle(): Promise<void> {
    await this.tail
  }

  private readonly onPackage = (evt: CustomEvent<PackageEvent>): void => {
    const { record } = evt.detail
    this.stats.pending++
    this.tail = this.tail.then(async () => {
      this.stats.pending--
      if (!this.stopped) await this.mirror(record)
    })
  }

  /** Writes `record` under its keys; `stored` counts the records the catalog accepted, not refreshes. */
  private async mirror(record: PackageRecord, accepted = true): Promise<void> {
    const value = encodeRecord(record)
    // a record that arrives late (a sync) may be older than the latest key's: never let it replace it
    const latest = this.catalog.get(record.id)?.version === record.version
    const keys = [versionKey(record.id, record.version), ...(latest ? [latestKey(record.id)] : [])]
    try {
      for (const key of keys) {
        const bytes = fromString(key)
        await this.datastore.put(
          dhtStoreKey(bytes, DHT_DATASTORE_PREFIX),
          new Record(bytes, value, new Date()).serialize()
        )
      }
      if (accepted) this.stats.stored++
    } catch (err) {
      this.stats.failures++
      this.log.error('storing %s@%s in the DHT failed - %s', record.id, record.version, describeError(err))
    }
  }
}
