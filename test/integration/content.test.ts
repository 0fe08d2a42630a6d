/**
 * Package contents shared peer to peer (issue 16, first part): Node peers on a real relay publish
 * an artifact with its record and fetch it from each other over Bitswap, verified block by block.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { Relay } from '../../relay/relay.ts'
import type { ContentProgress, MarketplaceNode } from '../../src/core/index.ts'

const MiB = 1024 * 1024
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

let cleanup: () => Promise<void>
let configUrl: string
let relay: Relay
const nodes: MarketplaceNode[] = []

/** A node on the relay, online and direct with every other node of this test still running. */
async function join(
  init: Partial<Parameters<typeof createMarketplaceNode>[0]> = {}
): Promise<MarketplaceNode> {
  const node = await createMarketplaceNode({ configUrl, content: { stallTimeoutMs: 5_000 }, ...init })
  nodes.push(node)
  await node.waitFor('online', { signal: AbortSignal.timeout(30_000) })
  const running = (): MarketplaceNode[] => nodes.filter(n => n !== node && n.status().state === 'online')
  await waitUntil(
    'a direct connection to every other node',
    () => node.status().directPeers >= running().length,
    60_000
  )
  return node
}

beforeAll(async () => {
  const started = await startTestRelay()
  cleanup = started.cleanup
  relay = started.relay
  configUrl = relay.httpUrl
})

afterAll(async () => {
  await Promise.all(nodes.map(async n => await n.stop()))
  await cleanup?.()
})

test('a 5 MiB artifact published with its record is fetched verified by another peer, then from the peers that kept it once the publisher left: that peer and the relay', async () => {
  const publisher = await join()
  const fetcher = await join()
  const artifact = new Uint8Array(randomBytes(5 * MiB))
  const file = new File([artifact], 'widget-1.0.0.tgz', { type: 'application/gzip' })
  const id = `${publisher.keyNamespace}/widget`
  await publisher.publish(
    { id, version: '1.0.0', title: 'Widget', description: 'with content', license: 'MIT' },
    { content: file }
  )
  const record = publisher.catalog.get(id)
  expect(record?.content).toMatchObject({
    size: 5 * MiB,
    name: 'widget-1.0.0.tgz',
    mediaType: 'application/gzip'
  })
  expect(record?.content?.cid).toMatch(/^bafy/)

  await waitUntil('the record to reach the fetcher', () => fetcher.catalog.get(id) != null, 20_000)
  // a fetch its caller gave up on ends as aborted
  await expect(fetcher.fetchContent(id, undefined, { signal: AbortSignal.abort() })).rejects.toMatchObject({
    name: 'AbortError'
  })
  const progress: ContentProgress[] = []
  const fetched = await fetcher.fetchContent(id, undefined, { onProgress: p => progress.push(p) })
  expect(sha256(fetched.bytes)).toBe(sha256(artifact))
  expect(fetched).toMatchObject({ cid: record?.content?.cid, size: 5 * MiB, peers: [publisher.peerId] })
  // progress moves forward to the whole size
  expect(progress.length).toBeGreaterThan(1)
  expect(progress.map(p => p.bytes)).toEqual([...progress.map(p => p.bytes)].sort((a, b) => a - b))
  expect(progress.at(-1)).toMatchObject({ bytes: 5 * MiB, total: 5 * MiB })
  // each side counts the bytes served per peer (the root block lists the leaves: a little more)
  const served = publisher.peers().find(p => p.peerId === fetcher.peerId)?.content
  const received = fetcher.peers().find(p => p.peerId === publisher.peerId)?.content
  expect(served?.sent).toBeGreaterThanOrEqual(5 * MiB)
  expect(received).toMatchObject({ received: served?.sent, unwanted: 0 })

  // the relay keeps what it hears of, up to its quota, and says so in /healthz
  await waitUntil('the record to reach the relay', () => relay.catalog.get(id) != null, 20_000)
  await relay.contentIdle()
  const health = (await (await fetch(`${relay.httpUrl}/healthz`)).json()) as {
    content: Record<string, unknown>
  }
  expect(health.content).toMatchObject({ kept: 1, bytes: 5 * MiB, pending: 0, failed: 0 })

  // the publisher leaves: a newcomer gets the content from the peers that kept it
  await publisher.stop()
  nodes.splice(nodes.indexOf(publisher), 1)
  const newcomer = await join()
  await waitUntil('the record to reach the newcomer', () => newcomer.catalog.get(id) != null, 30_000)
  const again = await newcomer.fetchContent(id)
  expect(sha256(again.bytes)).toBe(sha256(artifact))
  expect(again.peers.length).toBeGreaterThan(0)
  expect([fetcher.peerId, relay.peerId]).toEqual(expect.arrayContaining(again.peers))

  // and once every tab that had it left, from the relay alone
  for (const gone of [fetcher, newcomer]) {
    await gone.stop()
    nodes.splice(nodes.indexOf(gone), 1)
  }
  const last = await join()
  await waitUntil('the record to reach the last newcomer', () => last.catalog.get(id) != null, 30_000)
  const fromRelay = await last.fetchContent(id)
  expect(sha256(fromRelay.bytes)).toBe(sha256(artifact))
  expect(fromRelay.peers).toEqual([relay.peerId])
  const relayHealth = (await (await fetch(`${relay.httpUrl}/healthz`)).json()) as {
    content: { served: number; unwantedBlocks: number }
  }
  expect(relayHealth.content.served).toBeGreaterThanOrEqual(5 * MiB)
  expect(relayHealth.content.unwantedBlocks).toBe(0)
}, 240_000)

test('blocks that do not hash to what the record names are never taken: their sender loses reputation, and the fetch ends not found, naming who was asked', async () => {
  const blockstore = new MemoryBlockstore()
  const liar = await join({ content: { blockstore, stallTimeoutMs: 5_000 } })
  const fetcher = await join()
  const id = `${liar.keyNamespace}/tampered`
  await liar.publish(
    {
      id,
      version: '1.0.0',
      title: 'Tampered',
      description: 'its blocks change after publishing',
      license: 'MIT'
    },
    { content: new Uint8Array(randomBytes(3 * MiB)) }
  )
  // every data block (the 1 MiB leaves, not the small root that lists them) is altered in place
  const stored = (blockstore as unknown as { data: Map<string, Uint8Array[]> }).data
  for (const chunks of stored.values()) if ((chunks[0]?.byteLength ?? 0) > 64 * 1024) chunks[0]![0]! ^= 0xff
  await waitUntil('the record to reach the fetcher', () => fetcher.catalog.get(id) != null, 20_000)
  const before = fetcher.reputation.score(liar.peerId)
  const failure = await fetcher.fetchContent(id).then(
    () => undefined,
    (err: Error & { peersAsked?: string[]; corruptedBy?: string[] }) => err
  )
  expect(failure?.name).toBe('ContentNotFoundError')
  expect(failure?.peersAsked).toContain(liar.peerId)
  expect(failure?.corruptedBy).toEqual([liar.peerId])
  expect(failure?.message).toContain(`sent blocks that hash to nothing asked for (altered): ${liar.peerId}`)
  expect(failure?.message).toMatch(/no peer sent a block of bafy\w+ for 5 s/)
  // the altered blocks arrived under names never asked for: counted against the liar, who pays
  const liarSeen = fetcher.peers().find(p => p.peerId === liar.peerId)
  expect(liarSeen?.content?.unwanted).toBeGreaterThan(0)
  expect(liarSeen?.content?.received).toBeGreaterThan(0)
  expect(fetcher.reputation.get(liar.peerId).failures).toBeGreaterThan(0)
  expect(fetcher.reputation.score(liar.peerId)).toBeLessThan(before)
  // the relay, which tried to keep the content too, blamed it as well
  await waitUntil('the relay to count the altered blocks', async () => {
    const health = (await (await fetch(`${relay.httpUrl}/healthz`)).json()) as {
      content: { unwantedBlocks: number }
    }
    return health.content.unwantedBlocks > 0
  })
}, 240_000)

test('bad input is refused before anything is stored: content over the limit, a manifest that sets content itself, a package without content', async () => {
  const node = await join({ content: { maxBytes: MiB } })
  const manifest = {
    id: `${node.keyNamespace}/big`,
    version: '1.0.0',
    title: 'Big',
    description: 'too big',
    license: 'MIT'
  }
  await expect(node.publish(manifest, { content: new Uint8Array(MiB + 1) })).rejects.toMatchObject({
    name: 'ContentTooLargeError',
    message: `the content is ${MiB + 1} bytes; this node takes at most ${MiB}`
  })
  // a stream of unknown size is refused once it passes the limit
  const stream = new Blob([new Uint8Array(MiB), new Uint8Array(10)]).stream()
  await expect(node.publish(manifest, { content: stream })).rejects.toMatchObject({
    name: 'ContentTooLargeError'
  })
  await expect(
    node.publish({
      ...manifest,
      content: { cid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', size: 1 }
    })
  ).rejects.toMatchObject({ name: 'InvalidManifestError', issues: [{ field: 'content' }] })
  expect(node.catalog.get(manifest.id)).toBeUndefined()
  // a failed import drops its blocks without touching those of an import beside it
  const kept = new Uint8Array(randomBytes(MiB - 1))
  const [failed, published] = await Promise.allSettled([
    node.publish(manifest, { content: new Blob([new Uint8Array(MiB), new Uint8Array(10)]).stream() }),
    node.publish({ ...manifest, id: `${node.keyNamespace}/beside` }, { content: kept })
  ])
  expect([failed.status, published.status]).toEqual(['rejected', 'fulfilled'])
  const own = await node.fetchContent(`${node.keyNamespace}/beside`)
  expect(sha256(own.bytes)).toBe(sha256(kept))
  expect(own.peers).toEqual([])
  // the same bytes published again with another package are kept once, and served from here
  await node.publish({ ...manifest, id: `${node.keyNamespace}/twin` }, { content: kept })
  const twin = await node.fetchContent(`${node.keyNamespace}/twin`)
  expect([twin.cid, twin.peers]).toEqual([own.cid, []])
  await node.publish({ ...manifest, id: `${node.keyNamespace}/plain` })
  await expect(node.fetchContent(`${node.keyNamespace}/plain`)).rejects.toMatchObject({
    name: 'ContentNotFoundError',
    message: `${node.keyNamespace}/plain@1.0.0 was published without content`
  })
}, 120_000)

test('a node that fetched content, started again over the blocks and datastore it kept, serves it at once, before it publishes or fetches anything', async () => {
  // a relay that keeps no content: what the newcomer gets can only come from the restarted node
  const own = await startTestRelay({ content: { quota: 0, maxBytes: MiB, perPublisher: 0 } })
  const datastore = new MemoryDatastore()
  const blockstore = new MemoryBlockstore()
  const privateKey = await generateKeyPair('Ed25519')
  const started: MarketplaceNode[] = []
  const start = async (
    init: Partial<Parameters<typeof createMarketplaceNode>[0]> = {}
  ): Promise<MarketplaceNode> => {
    const node = await createMarketplaceNode({
      configUrl: own.relay.httpUrl,
      content: { stallTimeoutMs: 10_000 },
      ...init
    })
    started.push(node)
    await node.waitFor('online', { signal: AbortSignal.timeout(30_000) })
    return node
  }
  try {
    // the publisher leaves once a node that keeps its blocks and datastore fetched the content
    const publisher = await start()
    const artifact = new Uint8Array(randomBytes(MiB / 2))
    const id = `${publisher.keyNamespace}/kept`
    await publisher.publish(
      { id, version: '1.0.0', title: 'Kept', description: 'served again after a restart', license: 'MIT' },
      { content: artifact }
    )
    const kept = { datastore, privateKey, content: { blockstore, stallTimeoutMs: 10_000 } }
    const first = await start(kept)
    await waitUntil(
      'the fetcher to be direct with the publisher',
      () => first.status().directPeers >= 1,
      60_000
    )
    await waitUntil('the record to reach the fetcher', () => first.catalog.get(id) != null, 30_000)
    expect(sha256((await first.fetchContent(id)).bytes)).toBe(sha256(artifact))
    await Promise.all([publisher.stop(), first.stop()])
    const again = await start(kept)
    const newcomer = await start()
    await waitUntil(
      'the newcomer to be direct with the restarted node',
      () => newcomer.status().directPeers >= 1,
      60_000
    )
    await waitUntil('the record to reach the newcomer', () => newcomer.catalog.get(id) != null, 30_000)
    const fetched = await newcomer.fetchContent(id)
    expect(sha256(fetched.bytes)).toBe(sha256(artifact))
    expect(fetched.peers).toEqual([again.peerId])
    const health = (await (await fetch(`${own.relay.httpUrl}/healthz`)).json()) as {
      content: Record<string, unknown>
    }
    expect(health.content).toMatchObject({ kept: 0, refused: { tooLarge: 0, full: 1, publisherFull: 0 } })
  } finally {
    await Promise.all(started.map(async n => await n.stop()))
    await own.cleanup()
  }
}, 180_000)

test("one publisher key takes at most its share of a relay's content quota, also after the relay restarts; other keys still get theirs", async () => {
  const dataDir = await mkdtemp(joinPath(tmpdir(), 'mp-relay-share-'))
  const settings = { dataDir, content: { quota: 1024 ** 3, maxBytes: 4 * MiB, perPublisher: 1.5 * MiB } }
  let own = await startTestRelay(settings)
  const started: MarketplaceNode[] = []
  const online = async (
    privateKey?: Awaited<ReturnType<typeof generateKeyPair>>
  ): Promise<MarketplaceNode> => {
    const node = await createMarketplaceNode({
      configUrl: own.relay.httpUrl,
      ...(privateKey != null ? { privateKey } : {})
    })
    started.push(node)
    await node.waitFor('online', { signal: AbortSignal.timeout(30_000) })
    return node
  }
  const publishMiB = async (node: MarketplaceNode, name: string): Promise<void> => {
    await node.publish(
      {
        id: `${node.keyNamespace}/${name}`,
        version: '1.0.0',
        title: name,
        description: 'a share',
        license: 'MIT'
      },
      { content: new Uint8Array(randomBytes(MiB)) }
    )
  }
  /** Waits until the relay has kept `kept` artifacts and refused `refused` for their publisher's share. */
  const relayHas = async (kept: number, refused: number): Promise<void> =>
    await waitUntil(
      `the relay to keep ${kept} artifacts and refuse ${refused} past a publisher's share`,
      async () => {
        const { content } = (await (await fetch(`${own.relay.httpUrl}/healthz`)).json()) as {
          content: { kept: number; pending: number; refused: { publisherFull: number } }
        }
        return content.kept === kept && content.pending === 0 && content.refused.publisherFull === refused
      },
      30_000
    )
  try {
    const key = await generateKeyPair('Ed25519')
    const greedy = await online(key)
    const other = await online()
    await publishMiB(greedy, 'first')
    await relayHas(1, 0)
    // a second MiB would put this key past its 1.5 MiB
    await publishMiB(greedy, 'second')
    await relayHas(1, 1)
    await publishMiB(other, 'theirs')
    await relayHas(2, 1)

    // the relay restarts over its data: what each key holds is counted again (the second
    // artifact, heard again from the relay's own catalog, is refused again)
    await Promise.all(started.splice(0).map(async n => await n.stop()))
    await own.cleanup()
    own = await startTestRelay(settings)
    await relayHas(2, 1)
    await publishMiB(await online(key), 'third')
    await relayHas(2, 2)
  } finally {
    await Promise.all(started.map(async n => await n.stop()))
    await own.cleanup()
    await rm(dataDir, { recursive: true, force: true })
  }
}, 180_000)
