import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { describe, expect, test, vi } from 'vitest'
import { CatalogSync } from '../../src/core/marketplace/catalog-sync.ts'
import { SYNC_PROTOCOL } from '../../src/core/protocols/messages.ts'
import type { Logger, PeerId } from '@libp2p/interface'

const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as unknown as Logger

describe('catalog sync', () => {
  test('on identify, a tab syncs only from the peers it is told to (its relays), not from any peer that serves sync', async () => {
    const [relay, stranger] = await Promise.all(
      [1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    )
    const listeners: Array<(evt: CustomEvent) => void> = []
    const dialled: string[] = []
    const libp2p = {
      addEventListener: (_: string, fn: (evt: CustomEvent) => void) => listeners.push(fn),
      removeEventListener: () => {},
      // every sync request fails at once: what matters here is whom it asks
      dialProtocol: vi.fn(async (peer: PeerId) => {
        dialled.push(peer.toString())
        return await Promise.reject(new Error('no stream in this test'))
      })
    }
    const sync = new CatalogSync(
      {
        libp2p,
        catalog: { add: async () => await Promise.resolve('added' as const), get: () => undefined },
        datastore: new MemoryDatastore(),
        feedback: { success: () => {}, failure: () => {} },
        log
      },
      {
        pageTimeoutMs: 1_000,
        resyncAfterMs: 30_000,
        scope: id => (id === relay!.toString() ? 'all' : 'none')
      }
    )
    sync.start()
    for (const peerId of [stranger!, relay!]) {
      for (const fn of listeners)
        fn(
          new CustomEvent('peer:identify', { detail: { peerId, protocols: [SYNC_PROTOCOL], connection: {} } })
        )
    }
    await vi.waitFor(() => expect(dialled).toEqual([relay!.toString()]))
    sync.stop()
  })
})
