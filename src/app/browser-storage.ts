import { MemoryDatastore } from 'datastore-core'
import { IDBBlockstore } from 'blockstore-idb'
import { IDBDatastore } from 'datastore-idb'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'

const DATABASE = 'p2p-marketplace'
const LOCK = 'p2p-marketplace-identity'

/**
 * The tab's datastore: IndexedDB, so the identity and state survive reloads.
 * Two tabs of one browser profile must not run the same peer id, so the first
 * tab holds a Web Lock on the persistent identity; any other tab runs with a
 * fresh in-memory identity and says so.
 *
 * `relay` names a profile of its own: a tab bootstrapped from another relay than
 * the page's (`?relay=`, or the widget on another site) keeps its identity and
 * catalog apart, so a link to a hostile relay can never seed the default
 * profile's catalog (first-seen namespaces) with what that relay serves.
 */
export async function openBrowserStorage(
  relay?: string
): Promise<{ datastore: Datastore; blockstore?: Blockstore; persistent: boolean }> {
  const suffix = relay != null ? `@${relay}` : ''
  const owner = await holdLock(LOCK + suffix)
  if (!owner) {
    return { datastore: new MemoryDatastore(), persistent: false }
  }
  const datastore = new IDBDatastore(DATABASE + suffix)
  // package content: blocks in a database of their own, pins beside the rest in `datastore`
  const blockstore = new IDBBlockstore(`${DATABASE}-blocks${suffix}`)
  await Promise.all([datastore.open(), blockstore.open()])
  return { datastore, blockstore, persistent: true }
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
      // no Web Locks (an old browser, a sandboxed frame): the profile is taken as free
      .catch(() => resolve(true))
  })
}
