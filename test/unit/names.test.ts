import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { fromString } from 'uint8arrays'
import { describe, expect, test } from 'vitest'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { dhtValidator, latestKey } from '../../src/core/marketplace/dht-records.ts'
import { NameProofs } from '../../src/core/marketplace/name-proofs.ts'
import { NameUnprovenError, NamespaceOwnedError } from '../../src/core/package/errors.ts'
import { keyNamespaceOf, keyNamespaceOwner, LookAlikes, namespaceKind } from '../../src/core/package/names.ts'
import { signRecord } from '../../src/core/package/record.ts'
import { intakeRecords } from '../../src/core/marketplace/record-intake.ts'
import type { ProofFetch } from '../../src/core/marketplace/name-proofs.ts'
import type { PackageManifest } from '../../src/core/package/schema.ts'
import type { PrivateKey } from '@libp2p/interface'

const manifest = (id: string, version = '1.0.0', over: Partial<PackageManifest> = {}): PackageManifest => ({
  id,
  version,
  title: `Package ${id}`,
  description: 'react things',
  license: 'MIT',
  ...over
})

const keyId = (key: PrivateKey): string => peerIdFromPrivateKey(key).toString()

/** A fetch that serves `lists` (domain → keys) and counts what it was asked. */
function listServer(lists: Record<string, string[] | string>): ProofFetch & { asked: string[] } {
  const asked: string[] = []
  const fetch = (url: string): Promise<Response> => {
    asked.push(url)
    const domain = new URL(url).hostname
    const list = lists[domain]
    if (list == null) return Promise.resolve(new Response('not found', { status: 404 }))
    const body = typeof list === 'string' ? list : JSON.stringify({ publishers: list })
    return Promise.resolve(new Response(body, { headers: { 'content-type': 'application/json' } }))
  }
  return Object.assign(fetch, { asked })
}

describe('namespace kinds', () => {
  test('a key namespace is the publisher key as a base36 libp2p-key CID; domains and plain names are told apart', async () => {
    const key = await generateKeyPair('Ed25519')
    const ns = keyNamespaceOf(keyId(key))
    expect(ns).toMatch(/^k51qzi5uqu5d[0-9a-z]+$/)
    expect(namespaceKind(ns)).toBe('key')
    expect(keyNamespaceOwner(ns)).toBe(keyId(key))
    expect(namespaceKind('react.dev')).toBe('domain')
    expect(namespaceKind('docs.react.dev')).toBe('domain')
    for (const plain of ['react', 'lodash', '10.0.0.1', 'a.b1', 'react.dev_', '-x.com'])
      expect([plain, namespaceKind(plain)]).toEqual([plain, 'plain'])
  })

  test('look-alikes of a verified domain are flagged; the domain seen first is the reference', () => {
    const domains = new LookAlikes()
    domains.add('react.dev')
    domains.add('reacl.dev') // a look-alike that verified itself later
    expect(domains.of('react.dev')).toBeUndefined()
    expect(domains.of('reacl.dev')).toBe('react.dev')
    expect(domains.of('react')).toBe('react.dev') // a plain name
    expect(domains.of('rea-ct')).toBe('react.dev')
    expect(domains.of('reactt.io')).toBe('react.dev')
    expect(domains.of('docs.react.dev')).toBeUndefined() // its own subdomain
    expect(domains.of('lodash')).toBeUndefined()
    expect(domains.of('k51qzi5uqu5dreact')).toBeUndefined()
  })
})

describe('name proofs', () => {
  test('a domain proves the keys it lists; answers are remembered, one fetch per domain', async () => {
    const [a, b] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const server = listServer({ 'react.dev': [keyId(a)] })
    const proofs = new NameProofs({ fetch: server })
    await Promise.all([proofs.check('react.dev', keyId(a)), proofs.check('react.dev', keyId(a))])
    await expect(proofs.check('react.dev', keyId(b))).rejects.toMatchObject({
      name: 'NameUnprovenError',
      reason: 'not-listed',
      message: expect.stringContaining('https://react.dev/.well-known/p2p-marketplace.json') as string
    })
    await expect(proofs.check('gone.dev', keyId(a))).rejects.toMatchObject({
      reason: 'unreachable',
      message:
        'the publisher list of gone.dev (https://gone.dev/.well-known/p2p-marketplace.json) could not be read: HTTP 404'
    })
    await expect(proofs.check('gone.dev', keyId(a))).rejects.toMatchObject({ reason: 'unreachable' })
    expect(server.asked).toEqual([
      'https://react.dev/.well-known/p2p-marketplace.json',
      'https://gone.dev/.well-known/p2p-marketplace.json'
    ])
  })

  test('bad lists prove nothing: not JSON, too big, too many keys, not peer ids', async () => {
    const key = await generateKeyPair('Ed25519')
    const many = Array.from({ length: 257 }, () => keyId(key))
    const server = listServer({
      'a.dev': 'not json',
      'b.dev': JSON.stringify({ publishers: [keyId(key)], padding: 'x'.repeat(70_000) }),
      'c.dev': JSON.stringify({ publishers: many }),
      'd.dev': JSON.stringify({ publishers: ['QmNotAKey'] }),
      'e.dev': JSON.stringify({ keys: [keyId(key)] })
    })
    const proofs = new NameProofs({ fetch: server })
    for (const domain of ['a.dev', 'b.dev', 'c.dev', 'd.dev', 'e.dev'])
      await expect(proofs.check(domain, keyId(key))).rejects.toMatchObject({ reason: 'unreachable', domain })
    // what is wrong with a list is shown to users in its own words, without an error's name before them
    const why = async (domain: string): Promise<string> =>
      await proofs.check(domain, keyId(key)).then(
        () => '',
        (err: Error) => err.message.replace(/^.* could not be read: /, '')
      )
    expect(await why('b.dev')).toBe('the list is over 65536 bytes')
    expect(await why('c.dev')).toBe('"publishers" names 257 keys; at most 256')
    expect(await why('e.dev')).toBe('"publishers" is not an array of peer ids')
    expect(await why('a.dev')).toMatch(/^SyntaxError: /) // not the list's words: the error says what it is
  })

  test('a caller that gives up stops its own wait, not the read another caller shares', async () => {
    const key = await generateKeyPair('Ed25519')
    let answer: (response: Response) => void = () => {}
    const slow: ProofFetch = async () => await new Promise<Response>(resolve => (answer = resolve))
    const proofs = new NameProofs({ fetch: slow })
    const controller = new AbortController()
    const impatient = proofs.check('slow.dev', keyId(key), { signal: controller.signal })
    const patient = proofs.check('slow.dev', keyId(key))
    controller.abort(new Error('the publish was cancelled'))
    await expect(impatient).rejects.toThrow('the publish was cancelled')
    answer(new Response(JSON.stringify({ publishers: [keyId(key)] })))
    await expect(patient).resolves.toBeUndefined()
  })

  test('a peer with a thousand invented domains gets at most maxFetchesPerMinute lists read', async () => {
    const key = await generateKeyPair('Ed25519')
    const server = listServer({})
    const proofs = new NameProofs({ fetch: server, maxFetchesPerMinute: 10 })
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, async (_, i) => await proofs.check(`x${i}.dev`, keyId(key)))
    )
    expect(server.asked).toHaveLength(10)
    expect(results.every(r => r.status === 'rejected')).toBe(true)
    const reasons = results.map(r => (r.status === 'rejected' ? (r.reason as NameUnprovenError).reason : ''))
    expect(reasons.filter(r => r === 'busy')).toHaveLength(990)
  })
})

describe('the catalog and the DHT under proven names', () => {
  test('a domain namespace takes only the keys its list names, whoever came first; co-listed keys share it', async () => {
    const [genuine, colleague, squatter] = await Promise.all([
      generateKeyPair('Ed25519'),
      generateKeyPair('Ed25519'),
      generateKeyPair('Ed25519')
    ])
    const proofs = new NameProofs({ fetch: listServer({ 'react.dev': [keyId(genuine), keyId(colleague)] }) })
    const catalog = new PackageCatalog(new MemoryDatastore(), { proofs })
    const squatted = await signRecord(manifest('react.dev/react', '9.9.9'), squatter)
    const intake = await intakeRecords(catalog, [squatted], 'sync', 'peer')
    expect(intake).toMatchObject({ added: [], invalid: 0, refused: 1 }) // not the sender's fault for certain
    await catalog.add(await signRecord(manifest('react.dev/react', '1.0.0'), genuine), 'gossip')
    await catalog.add(await signRecord(manifest('react.dev/react', '1.1.0'), colleague), 'gossip')
    expect(catalog.get('react.dev/react')?.version).toBe('1.1.0')
  })

  test('without a proof service, domain records are refused; key namespaces need none', async () => {
    const [owner, other] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const catalog = new PackageCatalog(new MemoryDatastore())
    await expect(
      catalog.add(await signRecord(manifest('acme.dev/x'), owner), 'gossip')
    ).rejects.toMatchObject({
      name: 'NameUnprovenError',
      reason: 'no-proofs'
    })
    const ns = keyNamespaceOf(keyId(owner))
    expect(await catalog.add(await signRecord(manifest(`${ns}/x`), owner), 'gossip')).toBe('added')
    // another key in it is refused from the record alone, on every node alike: no first-seen race
    await expect(catalog.add(await signRecord(manifest(`${ns}/y`), other), 'gossip')).rejects.toBeInstanceOf(
      NamespaceOwnedError
    )
  })

  test('results rank a verified name first and flag a plain look-alike, whatever arrived first', async () => {
    const [genuine, squatter] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const proofs = new NameProofs({ fetch: listServer({ 'react.dev': [keyId(genuine)] }) })
    const catalog = new PackageCatalog(new MemoryDatastore(), { proofs })
    // the squatter's plain `react/react` comes first, with the better-matching text
    await catalog.add(
      await signRecord(manifest('react/react', '1.0.0', { title: 'React', tags: ['react'] }), squatter),
      'sync'
    )
    await catalog.add(await signRecord(manifest('react.dev/react', '1.0.0'), genuine), 'sync')
    for (const text of ['react', '']) {
      const { records } = catalog.search({ text })
      expect(records.map(r => r.id)).toEqual(['react.dev/react', 'react/react'])
    }
    const [first, second] = catalog.search({ text: 'react' }).records
    expect(catalog.standing(first!)).toEqual({ kind: 'domain', verified: true })
    expect(catalog.standing(second!)).toEqual({ kind: 'plain', verified: false, looksLike: 'react.dev' })
  })

  test('the DHT validator refuses a domain record its list does not name, and lets a listed key move latest forward', async () => {
    const [genuine, colleague, squatter] = await Promise.all([
      generateKeyPair('Ed25519'),
      generateKeyPair('Ed25519'),
      generateKeyPair('Ed25519')
    ])
    const proofs = new NameProofs({ fetch: listServer({ 'react.dev': [keyId(genuine), keyId(colleague)] }) })
    const catalog = new PackageCatalog(new MemoryDatastore(), { proofs })
    const datastore = new MemoryDatastore()
    const validate = dhtValidator({ catalog, datastore })
    const key = fromString(latestKey('react.dev/react'))
    const squatted = await signRecord(manifest('react.dev/react', '9.0.0'), squatter)
    await expect(validate(key, fromString(JSON.stringify(squatted)))).rejects.toBeInstanceOf(
      NameUnprovenError
    )
    const v1 = await signRecord(manifest('react.dev/react', '1.0.0'), genuine)
    await validate(key, fromString(JSON.stringify(v1)))
  })
})
