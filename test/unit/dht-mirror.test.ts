import { generateKeyPair } from '@libp2p/crypto/keys'
import { Record } from '@libp2p/kad-dht'
import { MemoryDatastore } from 'datastore-core'
import { fromString } from 'uint8arrays'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { DhtMirror } from '../../relay/dht-mirror.ts'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { dhtStoreKey, latestKey, versionKey } from '../../src/core/marketplace/dht-records.ts'
import { signRecord } from '../../src/core/package/record.ts'
import type { Logger } from '@libp2p/interface'

const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as unknown as Logger

/** When kad-dht's store received the record under `key` (epoch ms), or undefined when it holds none. */
async function receivedAt(datastore: MemoryDatastore, key: string): Promise<number | undefined> {
  const stored = dhtStoreKey(fromString(key))
  if (!(await datastore.has(stored))) return undefined
  return Record.deserialize(await datastore.get(stored)).timeReceived.getTime()
}

describe('DHT mirror', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  test('at start it writes every record the catalog holds, then again every refresh, so kad-dht never expires them', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const datastore = new MemoryDatastore()
    // a catalog loaded from disk: its records came in before this relay (re)started
    const catalog = new PackageCatalog(new MemoryDatastore())
    await catalog.load()
    const key = await generateKeyPair('Ed25519')
    const manifest = { id: 'acme/util', title: 'Util', description: 'Useful things', license: 'MIT' }
    for (const version of ['1.0.0', '1.1.0'])
      await catalog.add(await signRecord({ ...manifest, version }, key), 'local')

    const mirror = new DhtMirror({ datastore, catalog, log }, { refreshEveryMs: 24 * 3_600_000 })
    const started = Date.now()
    mirror.start()
    await mirror.idle()
    for (const k of [
      versionKey('acme/util', '1.0.0'),
      versionKey('acme/util', '1.1.0'),
      latestKey('acme/util')
    ])
      expect(await receivedAt(datastore, k), k).toBeGreaterThanOrEqual(started)
    expect(mirror.stats).toMatchObject({ refreshes: 1, failures: 0, stored: 0 })

    // a day later every record is written again: kad-dht drops records received over 48 h ago
    await vi.advanceTimersByTimeAsync(24 * 3_600_000)
    await mirror.idle()
    expect(mirror.stats.refreshes).toBe(2)
    expect(await receivedAt(datastore, latestKey('acme/util'))).toBeGreaterThanOrEqual(
      started + 24 * 3_600_000
    )
    // and the latest key still holds the latest version
    const latest = Record.deserialize(await datastore.get(dhtStoreKey(fromString(latestKey('acme/util')))))
    expect((JSON.parse(new TextDecoder().decode(latest.value)) as { version: string }).version).toBe('1.1.0')
    await mirror.stop()
  })
})
