/**
 * A hostile peer written from PROTOCOL.md (plain js-libp2p) serves the sync protocol with a flood:
 * its own key far past its quota, many fresh keys, a record in a namespace a genuine publisher
 * holds, records dated in the future, oversized and unsigned ones. The relay (a real process)
 * syncs with it on its own, as relays do with every peer (PROTOCOL.md §6, §10), taking from a
 * peer that is not a peer relay only the records that peer published itself.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import canonicalize from 'canonicalize'
import { fromString, toString } from 'uint8arrays'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { RelayProcess, freePort } from '../helpers/relay-process.ts'
import { waitUntil } from '../helpers/relay.ts'
import { createStranger, serveSync } from '../helpers/stranger.ts'
import type { MarketplaceNode } from '../../src/core/index.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

const QUOTA = 1_000 // records of one publisher key a catalog takes (RELAY_CATALOG_LIMITS)
const FRESH_KEYS = 200
/** The relay's memory bound in the hostile-peer tests (its peak RSS, VmHWM). */
const RSS_BOUND_MB = 500

let dataDir: string
let relay: RelayProcess
let genuine: MarketplaceNode
let attacker: Libp2p | undefined
const flood: unknown[] = []

/** A record as PROTOCOL.md §3 says, signed by `key`, with any date. */
async function sign(
  key: PrivateKey,
  id: string,
  version: string,
  publishedAt = new Date()
): Promise<unknown> {
  const unsigned = {
    id,
    version,
    title: `Package ${id}`,
    description: 'Looks useful',
    license: 'MIT',
    publisher: peerIdFromPrivateKey(key).toString(),
    publishedAt: publishedAt.toISOString()
  }
  const signature = await key.sign(fromString('p2p-marketplace/package-record/v1\n' + canonicalize(unsigned)))
  return { ...unsigned, signature: toString(signature, 'base64url') }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mp-hostile-'))
  relay = new RelayProcess(dataDir, await freePort(), await freePort())
  await relay.start()
  // the genuine publisher of react/ publishes first
  genuine = await createMarketplaceNode({ configUrl: relay.url })
  await genuine.waitFor('online', { signal: AbortSignal.timeout(30_000) })
  await genuine.publish({
    id: 'react/react',
    version: '2.0.0',
    title: 'React',
    description: 'UI',
    license: 'MIT'
  })
  await waitUntil('the relay to hold react/react', async () => (await relay.health()).packages === 1, 30_000)

  // the attacker's own key: the one whose records a relay takes from it
  const spammer = await generateKeyPair('Ed25519')
  for (let i = 0; i < FRESH_KEYS; i++)
    flood.push(await sign(await generateKeyPair('Ed25519'), `fresh${i}/pkg`, '1.0.0'))
  for (let i = 0; i <= QUOTA; i++) flood.push(await sign(spammer, `spam/pkg-${i}`, '1.0.0'))
  const squatter = spammer
  flood.push(await sign(squatter, 'react/react', '3.0.0'))
  flood.push(await sign(squatter, 'pinned/top', '1.0.0', new Date(Date.now() + 365 * 86_400_000)))
  const big = (await sign(squatter, 'big/pkg', '1.0.0')) as Record<string, unknown>
  flood.push({ ...big, description: '€'.repeat(4000) })
  flood.push({ ...big, id: 'unsigned/pkg', signature: 'A'.repeat(86) })

  const config = (await (await fetch(`${relay.url}/config.json`)).json()) as { relays: string[] }
  attacker = await createStranger({}, spammer)
  // PROTOCOL.md §6: pages of at most 100 records after the cursor, one epoch
  await serveSync(attacker, flood, 'flood')
  await attacker.dial(multiaddr(config.relays[0]))
}, 120_000)

afterAll(async () => {
  await attacker?.stop()
  await genuine?.stop()
  await relay?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

test('a sync flood: quotas hold, the genuine package stays first and found, nothing stored is lost, the relay stays responsive', async () => {
  // what comes in: the attacker's own records up to its quota; the fresh keys' records are passed over
  const expected = 1 + QUOTA
  // the sync goes in order: once the last record within the quota is in, every valid one was seen
  const last = `spam/pkg-${QUOTA - 1}`
  await waitUntil(
    'the relay to pull the flood',
    async () => (await genuine.search({ text: last })).packages.some(p => p.id === last),
    90_000
  )
  const health = await relay.health()
  expect(health.packages).toBe(expected)
  // its own code never held the event loop long (verifying 1 000 signatures in pages of 100)
  expect(health.eventLoopBusyMaxMs).toBeLessThan(200)
  const peakMb = relay.peakRssMb()
  console.log(
    `hostile sync: the relay holds ${health.packages} records; event loop busy at most ${health.eventLoopBusyMaxMs} ms; peak RSS ${peakMb.toFixed(0)} MB`
  )
  expect(peakMb).toBeLessThan(RSS_BOUND_MB)

  // the namespace stays its genuine publisher's, at its version; the squatter's 3.0.0, the
  // future-dated, oversized and unsigned records are refused, the spammer's record past its quota left out
  const search = await genuine.search({ text: 'react' })
  expect(search.packages[0]).toMatchObject({ id: 'react/react', version: '2.0.0', publisher: genuine.peerId })
  const onRelay = async (text: string): Promise<string[]> =>
    (await genuine.search({ text })).packages.map(p => p.id)
  expect(await onRelay('pinned')).not.toContain('pinned/top')
  expect(await onRelay('unsigned')).not.toContain('unsigned/pkg')
  expect(await onRelay('big')).not.toContain('big/pkg')
  expect(await onRelay(`fresh0`)).toEqual([])
})
