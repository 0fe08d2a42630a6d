import { MemoryDatastore } from 'datastore-core'
import { IDBDatastore } from 'datastore-idb'
import type { Datastore } from 'interface-datastore'

const DATABASE = 'p2p-marketplace'
const LOCK = 'p2p-marketplace-identity'

/**
 * The tab's datastore: IndexedDB, so the identity and state survive reloads.
 * Two tabs of one browser profile must not run the same peer id, so the first
 * tab holds a Web Lock on the persistent identity; any other tab runs with a
 * fresh in-memory identity and says so.
 */
export async function openBrowserStorage(): Promise<{ datastore: Datastore; persistent: boolean }> {
  const owner = await holdLock(LOCK)
  if (!owner) {
    return { datastore: new MemoryDatastore(), persistent: false }
  }
  const datastore = new IDBDatastore(DATABASE)
  await datastore.open()
  return { datastore, persistent: true }
}

/** Takes the lock if free and holds it for the life of the page. */
async function holdLock(name: string): Promise<boolean> {
  if (typeof navigator === 'undefined' || navigator.locks == null) return true
  return await new Promise<boolean>(resolve => {
    navigator.locks
      .request(name, { ifAvailable: true }, async lock => {
        resolve(lock != null)
        if (lock != null) await new Promise(() => {})
      })
      .catch(() => resolve(true))
  })
}
