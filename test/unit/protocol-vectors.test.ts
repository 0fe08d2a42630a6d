/**
 * The test vectors of PROTOCOL.md §11, read from the document itself (every fenced block marked
 * `vector:<name>`) and checked against the code: the key, canonical encoding, signature
 * (verification, and re-signing to the same bytes), DHT keys, gossip and discovery messages, a
 * sync page and error answers from the real request handler. A change to either side that the
 * other does not follow fails here.
 */
import { readFile } from 'node:fs/promises'
import {
  generateKeyPairFromSeed,
  privateKeyFromProtobuf,
  privateKeyToProtobuf,
  publicKeyFromProtobuf,
  publicKeyToProtobuf
} from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { fromString, toString } from 'uint8arrays'
import { describe, expect, test } from 'vitest'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { dhtValidator, latestKey, versionKey } from '../../src/core/marketplace/dht-records.ts'
import { encodeAnnouncement, parseAnnouncement } from '../../src/core/marketplace/gossip-message.ts'
import { keyNamespaceOf } from '../../src/core/package/names.ts'
import {
  decodeRecord,
  encodeRecord,
  signRecord,
  signingPayload,
  verifyRecord
} from '../../src/core/package/record.ts'
import { parseManifest } from '../../src/core/package/schema.ts'
import {
  PROTOCOL_LIMITS,
  SYNC_PROTOCOL,
  requestSchema,
  syncAnswerSchema
} from '../../src/core/protocols/messages.ts'
import { protocolServer } from '../helpers/protocol-server.ts'
import type { PackageManifest, PackageRecord } from '../../src/core/package/schema.ts'

const doc = await readFile(new URL('../../PROTOCOL.md', import.meta.url), 'utf8')
const blocks = new Map<string, string>()
for (const [, name, body] of doc.matchAll(/^```\w+ vector:([\w-]+)\n([\s\S]*?)\n```$/gm)) {
  if (name != null && body != null) blocks.set(name, body)
}

/** A vector's text, as written between its fences. */
function vector(name: string): string {
  const body = blocks.get(name)
  if (body == null) throw new Error(`PROTOCOL.md has no block marked vector:${name}`)
  return body
}
/** A hex or base64 vector, its lines joined. */
const joined = (name: string): string => vector(name).replaceAll('\n', '')
const json = <T>(name: string): T => JSON.parse(vector(name)) as T

interface KeyVector {
  seed: string
  privateKey: string
  publicKey: string
  peerId: string
  keyNamespace: string
}
const keyVector = json<KeyVector>('key')
const key = await generateKeyPairFromSeed('Ed25519', fromString(keyVector.seed, 'base16'))
const record = json<PackageRecord>('record')
/** The receiving node's clock: the record's own time, so it is never "ahead". */
const at = { now: Date.parse(record.publishedAt) }

describe('PROTOCOL.md §11', () => {
  test('the key: libp2p protobuf forms, peer id and key namespace', () => {
    expect(toString(privateKeyToProtobuf(key), 'base64pad')).toBe(keyVector.privateKey)
    expect(privateKeyFromProtobuf(fromString(keyVector.privateKey, 'base64pad')).equals(key)).toBe(true)
    expect(toString(publicKeyToProtobuf(key.publicKey), 'base16')).toBe(keyVector.publicKey)
    expect(peerIdFromPrivateKey(key).toString()).toBe(keyVector.peerId)
    expect(keyNamespaceOf(keyVector.peerId)).toBe(keyVector.keyNamespace)
  })

  test('the manifest is valid as written, and signing it gives the record, signature and all', async () => {
    const manifest = json<PackageManifest>('manifest')
    expect(parseManifest(manifest)).toEqual(manifest)
    // Ed25519 is deterministic: re-signing is byte-for-byte the published signature
    expect(await signRecord(manifest, key, new Date(record.publishedAt))).toEqual(record)
  })

  test('the record verifies as sent, and nothing of it is changed', async () => {
    expect(await verifyRecord(record, at)).toEqual(record)
    expect(record.publisher).toBe(keyVector.peerId)
  })

  test('the signed bytes and the signature', async () => {
    const payload = signingPayload(record)
    expect(toString(payload)).toBe(vector('signed-payload'))
    const signature = fromString(record.signature, 'base64url')
    expect(toString(signature, 'base16')).toBe(joined('signature-hex'))
    expect(await key.publicKey.verify(payload, signature)).toBe(true)
  })

  test('the canonical encoding, as text and as bytes', async () => {
    const bytes = encodeRecord(record)
    expect(toString(bytes)).toBe(vector('canonical'))
    expect(toString(bytes, 'base64pad')).toBe(joined('canonical-base64'))
    expect(doc).toContain(`as its ${bytes.byteLength} bytes in base64`)
    expect(await decodeRecord(fromString(joined('canonical-base64'), 'base64pad'), at)).toEqual(record)
  })

  test('the DHT keys, and a DHT server takes the canonical value under both', async () => {
    const keys = json<Record<'versionKey' | 'latestKey', { text: string; hex: string }>>('dht-keys')
    expect(versionKey(record.id, record.version)).toBe(keys.versionKey.text)
    expect(latestKey(record.id)).toBe(keys.latestKey.text)
    const catalog = new PackageCatalog(new MemoryDatastore())
    await catalog.load()
    const validate = dhtValidator({ catalog, datastore: new MemoryDatastore() }, { addToCatalog: true })
    for (const { text, hex } of Object.values(keys)) {
      expect(toString(fromString(text), 'base16')).toBe(hex)
      await validate(fromString(hex, 'base16'), encodeRecord(record))
    }
    expect(catalog.get(record.id, record.version)).toEqual(record)
  })

  test('the gossip message', async () => {
    const message = json<{ v: number; record: PackageRecord; traceparent: string }>('gossip')
    const data = fromString(JSON.stringify(message))
    expect(data.byteLength).toBeLessThanOrEqual(PROTOCOL_LIMITS.gossipMessageBytes)
    const parsed = parseAnnouncement(data)
    expect(parsed).toEqual({ record, traceparent: message.traceparent })
    expect(await verifyRecord(parsed.record, at)).toEqual(record)
    expect(JSON.parse(toString(encodeAnnouncement(record, message.traceparent)))).toEqual(message)
  })

  test('the discovery message: publicKeyToProtobuf and binary multiaddrs', () => {
    const fields = protobufFields(fromString(joined('discovery-hex'), 'base16'))
    expect(fields.map(([field]) => field)).toEqual([1, 2])
    const [[, publicKey], [, addr]] = fields as [[number, Uint8Array], [number, Uint8Array]]
    expect(publicKey).toEqual(publicKeyToProtobuf(key.publicKey))
    expect(peerIdFromPublicKey(publicKeyFromProtobuf(publicKey)).toString()).toBe(keyVector.peerId)
    const address = multiaddr(addr).toString()
    expect(address).toMatch(new RegExp(`/p2p-circuit/webrtc/p2p/${keyVector.peerId}$`))
    expect(doc).toContain(`\`${address}\``)
  })

  test('a sync page: the request, its frame, and the answer of our handler', async () => {
    const request = json<unknown>('sync-request')
    expect(requestSchema.parse(request)).toEqual(request)
    const body = fromString(JSON.stringify(request))
    expect(toString(new Uint8Array([...unsignedVarint(body.byteLength), ...body]), 'base16')).toBe(
      joined('sync-request-frame')
    )
    const answer = json<{ epoch: string }>('sync-answer')
    expect(syncAnswerSchema.parse(answer)).toEqual(answer)
    const catalog = new PackageCatalog(new MemoryDatastore())
    await catalog.load()
    await catalog.add(record, 'local')
    catalog.epoch = answer.epoch
    const { ask } = await protocolServer(catalog)
    expect(await ask(request, { protocol: SYNC_PROTOCOL })).toEqual(answer)
  })

  test('the error answers of our handler', async () => {
    const catalog = new PackageCatalog(new MemoryDatastore())
    await catalog.load()
    const { ask } = await protocolServer(catalog)
    const cases = json<Array<{ request: unknown; answer: unknown }>>('errors')
    expect(cases.length).toBeGreaterThan(0)
    for (const { request, answer } of cases) expect(await ask(request)).toEqual(answer)
  })
})

test('a record is validated as sent: a padded title is refused, whatever the signature covers', async () => {
  const padded = { ...record, title: ` ${record.title}` }
  const signedPadded = { ...padded, signature: toString(await key.sign(signingPayload(padded)), 'base64url') }
  for (const sent of [padded, signedPadded]) {
    await expect(verifyRecord(sent, at)).rejects.toMatchObject({
      name: 'InvalidRecordError',
      reason: 'schema',
      message: expect.stringContaining('title: title must not start or end with white space') as unknown
    })
  }
})

/** The length-delimited fields (wire type 2) of a protobuf message, in order. */
function protobufFields(bytes: Uint8Array): Array<[number, Uint8Array]> {
  const fields: Array<[number, Uint8Array]> = []
  let at = 0
  while (at < bytes.byteLength) {
    const [tag, afterTag] = readVarint(bytes, at)
    if ((tag & 7) !== 2) throw new Error(`field ${tag >> 3} is not length-delimited`)
    const [length, start] = readVarint(bytes, afterTag)
    fields.push([tag >> 3, bytes.subarray(start, start + length)])
    at = start + length
  }
  return fields
}

function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++]
    if (byte == null) throw new Error('truncated varint')
    value += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) return [value, at]
  }
}

/** The multiformats unsigned varint (LEB128) of `n`. */
function unsignedVarint(n: number): number[] {
  const out: number[] = []
  for (let rest = n; ; rest = Math.floor(rest / 128)) {
    if (rest < 128) return [...out, rest]
    out.push((rest % 128) | 0x80)
  }
}
