import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import canonicalize from 'canonicalize'
import { fromString, toString } from 'uint8arrays'
import { InvalidRecordError } from './errors.ts'
import { LIMITS, describeIssues, parseManifest, recordSchema } from './schema.ts'
import type { PackageManifest, PackageRecord } from './schema.ts'
import type { PrivateKey } from '@libp2p/interface'

/** Prefix of every signed payload, so a record signature can never be replayed as anything else. */
export const SIGNING_DOMAIN = 'p2p-marketplace/package-record/v1\n'

/** The bytes a record's signature covers: the domain, then the RFC 8785 (JCS) encoding of the record without `signature`. */
export function signingPayload(
  record: Omit<PackageRecord, 'signature'> & { signature?: string }
): Uint8Array {
  const unsigned: Record<string, unknown> = { ...record }
  delete unsigned.signature
  return fromString(SIGNING_DOMAIN + canonicalize(unsigned))
}

/** The canonical wire encoding of a whole record (JCS, UTF-8): what goes into the DHT, gossip and storage. */
export function encodeRecord(record: PackageRecord): Uint8Array {
  return fromString(canonicalize(record) ?? '')
}

/** Signs a manifest with the publisher's key, producing a record. */
export async function signRecord(
  manifest: PackageManifest,
  key: PrivateKey,
  publishedAt = new Date()
): Promise<PackageRecord> {
  const valid = parseManifest(manifest)
  const publisher = peerIdFromPrivateKey(key).toString()
  const unsigned = { ...valid, publisher, publishedAt: publishedAt.toISOString() }
  const signature = await key.sign(signingPayload(unsigned))
  const record = { ...unsigned, signature: toString(signature, 'base64url') }
  const size = encodeRecord(record).byteLength
  if (size > LIMITS.recordBytes) {
    throw new InvalidRecordError(
      'size',
      `the signed record is ${size} bytes; the limit is ${LIMITS.recordBytes} (shorten the description or lists)`
    )
  }
  return record
}

/**
 * Decodes and fully verifies a record received from anywhere: size, JSON,
 * schema, and the Ed25519 signature against the public key inside the
 * publisher's peer id. Throws `InvalidRecordError` saying which check failed.
 */
export async function decodeRecord(bytes: Uint8Array): Promise<PackageRecord> {
  if (bytes.byteLength > LIMITS.recordBytes) {
    throw new InvalidRecordError(
      'size',
      `record is ${bytes.byteLength} bytes; the limit is ${LIMITS.recordBytes}`
    )
  }
  let json: unknown
  try {
    json = JSON.parse(toString(bytes))
  } catch {
    throw new InvalidRecordError('encoding', 'record is not JSON')
  }
  return await verifyRecord(json)
}

/** Verifies an already-parsed record object (schema, encoded size and signature). */
export async function verifyRecord(json: unknown): Promise<PackageRecord> {
  const parsed = recordSchema.safeParse(json)
  if (!parsed.success) {
    throw new InvalidRecordError('schema', `record is malformed: ${describeIssues(parsed.error)}`)
  }
  const record = parsed.data
  // the schema's limits are characters: within them a record can still be too many bytes
  const size = encodeRecord(record).byteLength
  if (size > LIMITS.recordBytes) {
    throw new InvalidRecordError(
      'size',
      `${record.id}@${record.version} is ${size} bytes encoded; the limit is ${LIMITS.recordBytes}`
    )
  }
  let valid: boolean
  try {
    const publicKey = peerIdFromString(record.publisher).publicKey
    valid =
      publicKey != null &&
      (await publicKey.verify(signingPayload(record), fromString(record.signature, 'base64url')))
  } catch {
    valid = false
  }
  if (!valid) {
    throw new InvalidRecordError(
      'signature',
      `signature of ${record.id}@${record.version} does not verify against publisher ${record.publisher}`
    )
  }
  return record
}
