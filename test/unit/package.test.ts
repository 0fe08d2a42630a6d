import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { fromString } from 'uint8arrays'
import { describe, expect, test } from 'vitest'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { dhtSelector, dhtValidator, latestKey, versionKey } from '../../src/core/marketplace/dht-records.ts'
import {
  InvalidManifestError,
  InvalidRecordError,
  NamespaceOwnedError,
  VersionConflictError
} from '../../src/core/package/errors.ts'
import { decodeRecord, encodeRecord, signRecord, signingPayload } from '../../src/core/package/record.ts'
import { parseManifest } from '../../src/core/package/schema.ts'
import { intakeRecords } from '../../src/core/marketplace/record-intake.ts'
import type { PackageManifest } from '../../src/core/package/schema.ts'

const manifest = (over: Partial<PackageManifest> = {}): PackageManifest => ({
  id: 'acme/util',
  version: '1.0.0',
  title: 'Util',
  description: 'Useful things',
  license: 'Apache-2.0 OR MIT',
  ...over
})

describe('manifest validation', () => {
  test('a complete manifest is accepted and trimmed', () => {
    const parsed = parseManifest(
      manifest({
        title: '  Util  ',
        tags: ['a'],
        categories: ['dev-tools'],
        dependencies: { 'acme/core': '^2.1.0' },
        contentHash: `sha256-${'a'.repeat(64)}`,
        homepage: 'https://acme.dev'
      })
    )
    expect(parsed.title).toBe('Util')
  })

  test.each([
    [{ id: 'NoSlash' }, 'id'],
    [{ id: 'acme/Upper' }, 'id'],
    [{ version: 'v1.0.0' }, 'version'],
    [{ version: '1.0' }, 'version'],
    [{ title: '   ' }, 'title'],
    [{ description: 'x'.repeat(4001) }, 'description'],
    [{ license: 'MIT OR' }, 'license'],
    [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    [{ categories: ['Has Space'] }, 'categories.0'],
    [{ homepage: 'javascript:alert(1)' }, 'homepage'],
    [{ dependencies: { 'acme/core': 'not a range' } }, 'dependencies.acme/core'],
    [{ contentHash: 'md5-abc' }, 'contentHash']
  ])('%j is refused naming %s', (over, field) => {
    const error = (() => {
      try {
        parseManifest(manifest(over))
      } catch (err) {
        return err
      }
    })()
    expect(error).toBeInstanceOf(InvalidManifestError)
    expect((error as InvalidManifestError).issues.map(i => i.field)).toContain(field)
    expect((error as Error).message).toContain(field)
  })

  test('a missing required field and an unknown field are named', () => {
    const rest: Record<string, unknown> = { ...manifest() }
    delete rest.title
    expect(() => parseManifest(rest)).toThrow(/title/)
    expect(() => parseManifest({ ...manifest(), colour: 'red' })).toThrow(/unknown field\(s\) colour/)
  })

  test('content: a CIDv1 (dag-pb or raw, sha2-256) with its size, a plain file name and media type', () => {
    const cid = 'bafybeibihrkdxkxci2q6nzi5ieoyv4yogebz3myrig7vdlhxomi7inibba'
    const content = { cid, size: 5_242_880, name: 'left-pad-1.0.0.tgz', mediaType: 'application/gzip' }
    expect(parseManifest({ ...manifest(), content }).content).toEqual(content)
    const refused = (over: Record<string, unknown>): string[] => {
      try {
        parseManifest({ ...manifest(), content: { cid, size: 1, ...over } })
        return []
      } catch (err) {
        return (err as InvalidManifestError).issues.map(i => `${i.field}: ${i.message}`)
      }
    }
    // CIDv0, another hash (sha2-512), another codec (dag-cbor), the same CID in another base
    for (const bad of [
      'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG',
      'bafkrgqhhyivzstcz3hhswshfjgy6ertgmnqeleynhwt4dlfsthi4hn7zgh4uvlsb5xncykzapi3ocd4lzogukir6ksdy6wzrnz6ohnv4aglcs',
      'bafyreib7xuerqwlthodt5bmm7rgbpwd2ycxkqyqcgy7mzkwl7bxbcr4maq',
      'zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7'
    ])
      expect(refused({ cid: bad })).toEqual([
        'content.cid: must be a CIDv1 (base32, dag-pb or raw, sha2-256)'
      ])
    expect(refused({ size: -1 })).toEqual(['content.size: must not be negative'])
    expect(refused({ size: 1.5 })).toEqual(['content.size: must be a whole number of bytes'])
    expect(refused({ name: '../etc/passwd' })[0]).toMatch(/^content.name: must be a plain file name/)
    expect(refused({ name: 'a\u0000b' })[0]).toMatch(/^content.name: must be a plain file name/)
    expect(refused({ mediaType: 'text/plain; charset=utf-8' })[0]).toMatch(
      /^content.mediaType: must be a media type/
    )
    expect(refused({ sha1: 'x' })).toEqual(['content: unknown field(s) sha1'])
  })
})

describe('signed records', () => {
  test('sign → encode → decode verifies and keeps every field', async () => {
    const key = await generateKeyPair('Ed25519')
    const record = await signRecord(manifest({ tags: ['x'] }), key, new Date('2026-01-02T03:04:05.000Z'))
    expect(record.publisher).toBe(peerIdFromPrivateKey(key).toString())
    expect(record.publishedAt).toBe('2026-01-02T03:04:05.000Z')
    expect(await decodeRecord(encodeRecord(record))).toEqual(record)
    // canonical: key order does not change the signed bytes
    const reordered = Object.fromEntries(Object.entries(record).reverse()) as typeof record
    expect(signingPayload(reordered)).toEqual(signingPayload(record))
  })

  test('tampering, another publisher, garbage and oversize are refused with the reason', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const record = await signRecord(manifest(), key)
    const reason = async (bytes: Uint8Array): Promise<string | undefined> =>
      await decodeRecord(bytes).then(
        () => undefined,
        (err: unknown) => (err as InvalidRecordError).reason
      )
    expect(await reason(encodeRecord({ ...record, title: 'Evil' }))).toBe('signature')
    expect(await reason(encodeRecord({ ...record, publisher: peerIdFromPrivateKey(other).toString() }))).toBe(
      'signature'
    )
    expect(await reason(fromString('{nope'))).toBe('encoding')
    expect(await reason(fromString(JSON.stringify({ ...record, version: 'x' })))).toBe('schema')
    expect(await reason(new Uint8Array(20_000))).toBe('size')
    await expect(
      signRecord(
        manifest({
          description: '€'.repeat(4000),
          tags: Array.from({ length: 20 }, (_, i) => `${'t'.repeat(60)}${i}`),
          authors: Array.from({ length: 20 }, () => 'a'.repeat(128)),
          homepage: `https://x.dev/${'h'.repeat(490)}`,
          repository: `https://x.dev/${'r'.repeat(490)}`
        }),
        key
      )
    ).rejects.toThrow(InvalidRecordError)
  })
})

describe('catalog rules, search and sync cursor', () => {
  test('namespace ownership, immutability and forward-only versions', async () => {
    const alice = await generateKeyPair('Ed25519')
    const bob = await generateKeyPair('Ed25519')
    const catalog = new PackageCatalog(new MemoryDatastore())
    await catalog.load()
    const t = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s))
    expect(await catalog.add(await signRecord(manifest(), alice, t(1)), 'local')).toBe('added')
    await expect(
      catalog.add(await signRecord(manifest({ id: 'acme/other' }), bob, t(2)), 'gossip')
    ).rejects.toThrow(NamespaceOwnedError)
    await expect(
      catalog.add(await signRecord(manifest({ title: 'Again' }), alice, t(3)), 'local')
    ).rejects.toThrow(/immutable/)
    expect(await catalog.add(await signRecord(manifest({ version: '2.0.0' }), alice, t(4)), 'local')).toBe(
      'added'
    )
    await expect(
      catalog.add(await signRecord(manifest({ version: '1.5.0' }), alice, t(5)), 'local')
    ).rejects.toThrow(VersionConflictError)
    // an older version published earlier (arriving late through sync) is fine
    expect(await catalog.add(await signRecord(manifest({ version: '0.9.0' }), alice, t(0)), 'sync')).toBe(
      'added'
    )
    expect(catalog.listVersions('acme/util')).toEqual(['2.0.0', '1.0.0', '0.9.0'])
    expect(catalog.get('acme/util')?.version).toBe('2.0.0')
  })

  test('records from peers: new ones verified and added, held ones known, altered copies of held ones refused', async () => {
    const alice = await generateKeyPair('Ed25519')
    const catalog = new PackageCatalog(new MemoryDatastore())
    await catalog.load()
    const held = await signRecord(manifest(), alice)
    await catalog.add(held, 'local')
    const fresh = await signRecord(manifest({ id: 'acme/fresh' }), alice)
    // a copy of the held record with its text changed but its signature kept
    const altered = { ...held, title: 'Util, now with malware' }
    const wire = (r: object): unknown => JSON.parse(JSON.stringify(r))
    const intake = await intakeRecords(catalog, [wire(held), wire(fresh), altered, 'junk'], 'sync', 'peer')
    expect(intake).toMatchObject({ added: [fresh], known: 1, invalid: 2 })
    expect(intake.firstError).toMatch(/signature of acme\/util@1.0.0 does not verify/)
    expect(catalog.get('acme/util')?.title).toBe('Util')
    // a record identical to a held one is not verified again: the catalog trusts what it holds
    // (it verified it on the way in), shown with a held record whose signature would not verify
    const unverified = { ...(await signRecord(manifest({ id: 'acme/held' }), alice)), signature: 'AAAA' }
    await catalog.add(unverified, 'local')
    expect(await intakeRecords(catalog, [wire(unverified)], 'sync', 'peer')).toMatchObject({
      known: 1,
      invalid: 0
    })
  })

  test('ranked search with filters, paging, and a persisted catalog that reloads', async () => {
    const key = await generateKeyPair('Ed25519')
    const datastore = new MemoryDatastore()
    const catalog = new PackageCatalog(datastore)
    await catalog.load()
    await catalog.add(
      await signRecord(
        manifest({ id: 'acme/left-pad', title: 'Left pad', tags: ['string'], categories: ['text'] }),
        key
      ),
      'local'
    )
    await catalog.add(
      await signRecord(
        manifest({
          id: 'acme/right-pad',
          title: 'Right pad',
          description: 'pads on the right',
          tags: ['string']
        }),
        key
      ),
      'local'
    )
    await catalog.add(
      await signRecord(
        manifest({
          id: 'acme/crypto',
          title: 'Hashing',
          description: 'sha256 for everyone',
          categories: ['crypto']
        }),
        key
      ),
      'local'
    )
    expect(catalog.search({ text: 'left' }).records.map(r => r.id)).toEqual(['acme/left-pad'])
    expect(catalog.search({ text: 'pad' }).total).toBe(2)
    expect(catalog.search({ text: 'pad', categories: ['text'] }).records.map(r => r.id)).toEqual([
      'acme/left-pad'
    ])
    expect(catalog.search({ text: '', tags: ['STRING'] }).total).toBe(2)
    expect(catalog.search({ text: 'pad', limit: 1, offset: 1 }).records).toHaveLength(1)
    // exact words first; a typo, or a word still being typed, falls back to fuzzy and prefix matching
    expect(catalog.search({ text: 'hashng' }).records.map(r => r.id)).toEqual(['acme/crypto'])
    expect(catalog.search({ text: 'pads righ' }).records.map(r => r.id)).toEqual(['acme/right-pad'])

    const page1 = catalog.since(0, 2)
    expect(page1.records).toHaveLength(2)
    expect(page1.done).toBe(false)
    const page2 = catalog.since(page1.next, 2)
    expect(page2.records.map(r => r.id)).toEqual(['acme/crypto'])
    expect(page2.done).toBe(true)
    expect(catalog.since(page2.next, 2).records).toHaveLength(0)

    const reloaded = new PackageCatalog(datastore)
    await reloaded.load()
    expect(reloaded.size).toBe(3)
    expect(reloaded.epoch).toBe(catalog.epoch)
    expect(reloaded.search({ text: 'left' }).records.map(r => r.id)).toEqual(['acme/left-pad'])
  })
})

test('typo-tolerant matching only when the words typed match nothing; a word being typed completes', async () => {
  const key = await generateKeyPair('Ed25519')
  const catalog = new PackageCatalog(new MemoryDatastore())
  await catalog.load()
  for (const [id, title] of [
    ['acme/parser', 'Parser'],
    ['acme/parsec', 'Parsec'],
    ['acme/parsers', 'Parsers']
  ] as const)
    await catalog.add(await signRecord(manifest({ id, title }), key), 'local')
  const ids = (text: string): string[] =>
    catalog
      .search({ text })
      .records.map(r => r.id)
      .sort()
  // a word the index has: its exact matches, completed as a prefix, and no look-alikes one letter off
  expect(ids('parser')).toEqual(['acme/parser', 'acme/parsers'])
  // a word it has not: typo-tolerant, one edit away
  expect(ids('parsex')).toEqual(['acme/parsec', 'acme/parser'])
})

describe('DHT records', () => {
  test('the validator accepts matching keys and refuses mismatches; the selector keeps the highest version', async () => {
    const key = await generateKeyPair('Ed25519')
    const catalog = new PackageCatalog(new MemoryDatastore())
    await catalog.load()
    const validate = dhtValidator({ catalog, datastore: new MemoryDatastore() })
    const v1 = await signRecord(manifest(), key, new Date(1000))
    const v2 = await signRecord(manifest({ version: '2.0.0' }), key, new Date(2000))
    await expect(
      validate(fromString(versionKey(v1.id, v1.version)), encodeRecord(v1))
    ).resolves.toBeUndefined()
    await expect(validate(fromString(latestKey(v1.id)), encodeRecord(v1))).resolves.toBeUndefined()
    await expect(validate(fromString(versionKey(v1.id, '9.9.9')), encodeRecord(v1))).rejects.toThrow(
      /does not match/
    )
    await expect(validate(fromString(latestKey('acme/other')), encodeRecord(v1))).rejects.toThrow(
      /does not match/
    )
    await expect(validate(fromString(latestKey(v1.id)), encodeRecord({ ...v1, title: 'x' }))).rejects.toThrow(
      InvalidRecordError
    )
    expect(dhtSelector(fromString(latestKey(v1.id)), [encodeRecord(v1), encodeRecord(v2)])).toBe(1)
  })
})
