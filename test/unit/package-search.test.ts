/**
 * Progressive search (issue 17): the local results come at once, each peer's answer as it
 * arrives, and a slow peer never holds up what a fast one already sent.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { trace } from '@opentelemetry/api'
import { MemoryDatastore } from 'datastore-core'
import { expect, test } from 'vitest'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { keyNamespaceOf } from '../../src/core/package/names.ts'
import { signRecord } from '../../src/core/package/record.ts'
import { PackageSearch } from '../../src/core/marketplace/package-search.ts'
import type { SearchBatch } from '../../src/core/index.ts'
import type { PackageSearchComponents } from '../../src/core/marketplace/package-search.ts'
import type { PackageRecord } from '../../src/core/package/schema.ts'

async function record(name: string, title: string): Promise<PackageRecord> {
  const key = await generateKeyPair('Ed25519')
  const ns = keyNamespaceOf(peerIdFromPrivateKey(key).toString())
  return await signRecord(
    { id: `${ns}/${name}`, version: '1.0.0', title, description: `${title} for tests`, license: 'MIT' },
    key
  )
}

/**
 * A search over `catalog` whose two peers answer when the test says: `fast` and `slow` each
 * bring their record into the catalog, as a real fan-out's answers do.
 */
function searchWithPeers(catalog: PackageCatalog, answers: Record<'fast' | 'slow', PackageRecord>) {
  const release: Record<string, () => void> = {}
  const answered = (peer: 'fast' | 'slow'): Promise<void> => new Promise(resolve => (release[peer] = resolve))
  const fanOut: PackageSearchComponents['fanOut'] = {
    choosePeers: () => Promise.resolve({ available: 2, peers: [] }),
    query: async (_request, _peers, options) => {
      // like the real fan-out, it stops waiting once its caller aborts
      const aborted = new Promise<void>(resolve =>
        options?.signal?.addEventListener('abort', () => resolve())
      )
      const answering = Promise.all(
        (['fast', 'slow'] as const).map(async peer => {
          await answered(peer)
          await catalog.add(answers[peer], 'peer', peer)
          options?.onAdded?.([answers[peer]], 'peer', peer)
        })
      )
      await Promise.race([answering, aborted])
    }
  }
  const search = new PackageSearch({
    catalog,
    fanOut,
    dht: { lookup: () => Promise.resolve(undefined) },
    tracer: trace.getTracer('test')
  })
  return { search, answer: (peer: 'fast' | 'slow') => release[peer]?.() }
}

test('searchStream yields the local results at once, then each answer as it arrives; search waits for all', async () => {
  const catalog = new PackageCatalog(new MemoryDatastore())
  const local = await record('gizmo-local', 'Gizmo here')
  await catalog.add(local, 'local')
  const answers = {
    fast: await record('gizmo-fast', 'Gizmo fast'),
    slow: await record('gizmo-slow', 'Gizmo slow')
  }
  const { search, answer } = searchWithPeers(catalog, answers)

  const stream = search.stream({ text: 'gizmo' })
  const first = await stream.next()
  expect(first.value).toMatchObject({ source: 'local', packages: [{ id: local.id, source: 'local' }] })

  // the fast peer's answer comes out while the slow one has not answered
  const second = stream.next()
  answer('fast')
  const fast: SearchBatch | void = (await second).value
  expect(fast).toMatchObject({ source: 'peer', from: 'fast' })
  expect(fast?.packages.map(p => [p.id, p.source, p.from])).toEqual([[answers.fast.id, 'peer', 'fast']])
  const third = stream.next()
  answer('slow')
  expect((await third).value).toMatchObject({
    source: 'peer',
    from: 'slow',
    packages: [{ id: answers.slow.id }]
  })
  expect((await stream.next()).done).toBe(true)
})

test('a stream left early stops its search; bad queries throw on the first step', async () => {
  const catalog = new PackageCatalog(new MemoryDatastore())
  const answers = {
    fast: await record('widget-fast', 'Widget fast'),
    slow: await record('widget-slow', 'Widget slow')
  }
  const { search } = searchWithPeers(catalog, answers)
  // no peer ever answers: leaving the loop must stop the search, or this test never ends
  for await (const batch of search.stream({ text: 'widget' })) {
    expect(batch.source).toBe('local')
    break
  }
  await expect(search.stream({ text: 'x'.repeat(1_000) }).next()).rejects.toMatchObject({
    name: 'InvalidQueryError'
  })
})

test('a record that reaches the catalog by sync during a streamed search is shown, though no answer brings it', async () => {
  const catalog = new PackageCatalog(new MemoryDatastore())
  const answers = {
    fast: await record('gizmo-fast', 'Gizmo fast'),
    slow: await record('gizmo-slow', 'Gizmo slow')
  }
  const synced = await record('gizmo-synced', 'Gizmo synced')
  const { search, answer } = searchWithPeers(catalog, answers)

  const stream = search.stream({ text: 'gizmo' })
  expect((await stream.next()).value).toMatchObject({ source: 'local', packages: [] })
  // a new peer's catalog sync brings a match while the peers are still answering (a late joiner's
  // case: the sync had not ended when its search began); no peer's answer will bring it
  const next = stream.next()
  await catalog.add(synced, 'sync', 'relay')
  expect((await next).value).toMatchObject({ source: 'local', packages: [{ id: synced.id }] })
  answer('fast')
  answer('slow')
  const rest: SearchBatch[] = []
  for await (const batch of { [Symbol.asyncIterator]: () => stream }) rest.push(batch)
  const shown = rest.flatMap(b => b.packages.map(p => p.id))
  expect(shown.sort()).toEqual([answers.fast.id, answers.slow.id].sort())
})
