/**
 * Names that can be proven (PROTOCOL.md §3, Names), against a real relay process: a hostile peer
 * written from PROTOCOL.md serves the sync protocol with records of its own key: a squatted plain
 * `react/react`, the genuine domain's name, another key's key namespace, and records in 300
 * invented domains; the genuine publisher's domain lists its key at the well-known address
 * (served here on 127.0.0.1, the relay's `NAME_PROOF_URL`).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import canonicalize from 'canonicalize'
import { fromString, toString } from 'uint8arrays'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createMarketplaceNode, keyNamespaceOf } from '../../src/core/index.ts'
import { RelayProcess, freePort } from '../helpers/relay-process.ts'
import { waitUntil } from '../helpers/relay.ts'
import { createStranger, serveSync } from '../helpers/stranger.ts'
import type { MarketplaceNode } from '../../src/core/index.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Server } from 'node:http'

const INVENTED_DOMAINS = 300

let dataDir: string
let lists: Server
let listsUrl: string
/** Domains whose list was asked for, in order. */
const asked: string[] = []
let relay: RelayProcess
let genuine: MarketplaceNode
let observer: MarketplaceNode | undefined
let attacker: Libp2p | undefined
const flood: unknown[] = []

async function sign(key: PrivateKey, id: string, version: string): Promise<unknown> {
  const unsigned = {
    id,
    version,
    title: `Package ${id}`,
    description: 'react components',
    license: 'MIT',
    tags: ['react'],
    publisher: peerIdFromPrivateKey(key).toString(),
    publishedAt: new Date().toISOString()
  }
  const signature = await key.sign(fromString('p2p-marketplace/package-record/v1\n' + canonicalize(unsigned)))
  return { ...unsigned, signature: toString(signature, 'base64url') }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mp-names-'))
  const genuineKey = await generateKeyPair('Ed25519')
  const genuineId = peerIdFromPrivateKey(genuineKey).toString()
  // the domains' well-known lists: react.dev names the genuine key; every other domain has none
  lists = createServer((req, res) => {
    const domain = /^\/([a-z0-9.-]+)\.json$/.exec(req.url ?? '')?.[1] ?? ''
    asked.push(domain)
    res.setHeader('access-control-allow-origin', '*')
    if (domain !== 'react.dev') {
      res.writeHead(404).end()
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ publishers: [genuineId] }))
  })
  await new Promise<void>(resolve => lists.listen(0, '127.0.0.1', resolve))
  const address = lists.address()
  listsUrl = `http://127.0.0.1:${typeof address === 'object' && address != null ? address.port : 0}/{domain}.json`

  relay = new RelayProcess(dataDir, await freePort(), await freePort(), { NAME_PROOF_URL: listsUrl })
  await relay.start()

  const squatter = await generateKeyPair('Ed25519')
  flood.push(await sign(squatter, 'react/react', '1.0.0')) // a plain name, taken first
  flood.push(await sign(squatter, 'react.dev/react', '9.9.9')) // the domain does not list this key
  flood.push(await sign(squatter, `${keyNamespaceOf(genuineId)}/react`, '1.0.0')) // another key's namespace
  for (let i = 0; i < INVENTED_DOMAINS; i++) flood.push(await sign(squatter, `react${i}.dev/pkg`, '1.0.0'))
  flood.push(await sign(squatter, 'marker/last', '1.0.0'))

  const config = (await (await fetch(`${relay.url}/config.json`)).json()) as { relays: string[] }
  // its own records: a relay takes nothing else from a peer that is not one of its peer relays
  attacker = await createStranger({}, squatter)
  await serveSync(attacker, flood, 'names')
  await attacker.dial(multiaddr(config.relays[0]))

  genuine = await createMarketplaceNode({ configUrl: relay.url, privateKey: genuineKey })
  await genuine.waitFor('online', { signal: AbortSignal.timeout(30_000) })
}, 120_000)

afterAll(async () => {
  await attacker?.stop()
  await observer?.stop()
  await genuine?.stop()
  await relay?.stop()
  await new Promise(resolve => lists?.close(resolve))
  await rm(dataDir, { recursive: true, force: true })
})

test('a squatter and 300 invented domains: the genuine domain name is published, found first and shown verified; the squat ranks below and is flagged', async () => {
  const started = Date.now()
  // the relay pulls the flood on its own; the marker is its last record
  await waitUntil(
    'the relay to pull the flood',
    async () => (await genuine.search({ text: 'marker' })).packages.some(p => p.id === 'marker/last'),
    90_000
  )

  // the genuine publisher's domain lists its key: its publish goes through, under the name the squatter tried
  await genuine.publish({
    id: 'react.dev/react',
    version: '1.0.0',
    title: 'React',
    description: 'UI',
    license: 'MIT'
  })
  await genuine.publish({
    id: `${genuine.keyNamespace}/hooks`,
    version: '1.0.0',
    title: 'Hooks',
    description: 'react hooks',
    license: 'MIT'
  })
  // a domain that lists no one: refused at once, saying where to list the key
  await expect(
    genuine.publish({ id: 'react1.dev/x', version: '1.0.0', title: 'X', description: 'x', license: 'MIT' })
  ).rejects.toMatchObject({
    name: 'NameUnprovenError',
    message: expect.stringContaining('react1.dev') as string
  })
  await waitUntil(
    'the relay to hold the genuine records',
    async () => (await relay.health()).packages >= 3,
    30_000
  )

  // a node that comes later sees it as a person would
  observer = await createMarketplaceNode({ configUrl: relay.url })
  await observer.waitFor('online', { signal: AbortSignal.timeout(30_000) })
  const seen = observer
  await waitUntil(
    'the observer to find the genuine package',
    async () => (await seen.search({ text: 'react' })).packages.some(p => p.id === 'react.dev/react'),
    60_000
  )
  const { packages } = await seen.search({ text: 'react', limit: 100 })
  const ids = packages.map(p => `${p.id}@${p.version}`)
  expect(packages[0]).toMatchObject({
    id: 'react.dev/react',
    version: '1.0.0',
    publisher: genuine.peerId,
    name: { kind: 'domain', verified: true }
  })
  expect(packages[0]?.name.looksLike).toBeUndefined()
  expect(packages[1]).toMatchObject({
    id: `${genuine.keyNamespace}/hooks`,
    name: { kind: 'key', verified: false }
  })
  // the squatted plain name is there, below both, unverified and flagged
  expect(packages.at(-1)).toMatchObject({
    id: 'react/react',
    name: { kind: 'plain', verified: false, looksLike: 'react.dev' }
  })
  // refused everywhere: the unlisted key under react.dev, the key namespace of another key, the invented domains
  expect(ids).not.toContain('react.dev/react@9.9.9')
  expect(ids.some(id => id.startsWith(`${genuine.keyNamespace}/react@`))).toBe(false)
  expect(ids.some(id => /^react\d+\.dev\//.test(id))).toBe(false)

  // the invented domains cost the relay at most 60 list reads a minute (tabs never see them)
  const invented = new Set(asked.filter(d => /^react\d+\.dev$/.test(d)))
  const minutes = Math.ceil((Date.now() - started) / 60_000)
  const health = await relay.health()
  console.log(
    `${invented.size} of ${INVENTED_DOMAINS} invented domains' lists were read (${asked.length} list requests in all, ${minutes} min); relay event loop busy at most ${health.eventLoopBusyMaxMs} ms, peak RSS ${relay.peakRssMb().toFixed(0)} MB`
  )
  // only the relay meets them: it refuses them, so it never passes them on
  expect(invented.size).toBeLessThanOrEqual(60 * (minutes + 1))
  expect(health.eventLoopBusyMaxMs).toBeLessThan(200)
  expect(relay.peakRssMb()).toBeLessThan(500)
}, 240_000)
