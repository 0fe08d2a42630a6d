import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import canonicalize from 'canonicalize'
import { fromString, toString } from 'uint8arrays'
import { InvalidRecordError } from './errors.ts'
import { LIMITS, MAX_CLOCK_SKEW_MS, describeIssues, parseManifest, recordSchema } from './schema.ts'
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

/** Options of {@link verifyRecord} and {@link decodeRecord}. */
export interface VerifyRecordOptions {
  /** This node's clock, ms since the epoch, that `publishedAt` is checked against. @default Date.now() */
  now?: number
}

/**
 * Decodes and fully verifies a record received from anywhere: size, JSON,
 * schema, publication time, and the Ed25519 signature against the public key
 * inside the publisher's peer id. Throws `InvalidRecordError` saying which
 * check failed.
 */
export async function decodeRecord(
  bytes: Uint8Array,
  options: VerifyRecordOptions = {}
): Promise<PackageRecord> {
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
  return await verifyRecord(json, options)
}

/**
 * Verifies an already-parsed record object: schema, publication time (at
 * most {@link MAX_CLOCK_SKEW_MS} ahead of `now`), encoded size and signature,
 * the cheap checks first.
 */
export async function verifyRecord(json: unknown, options: VerifyRecordOptions = {}): Promise<PackageRecord> {
  const parsed = recordSchema.safeParse(json)
  if (!parsed.success) {
    throw new InvalidRecordError('schema', `record is malformed: ${describeIssues(parsed.error)}`)
  }
  const record = parsed.data
  checkPublishedAt(record, options.now ?? Date.now())
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

/**
 * Refuses a `publishedAt` that is not a time, or that is more than
 * {@link MAX_CLOCK_SKEW_MS} ahead of `now`: dated in the future, a record
 * would stay at the top of every newest-first list.
 */
function checkPublishedAt(record: PackageRecord, now: number): void {
  const at = Date.parse(record.publishedAt)
  // the schema admits only valid UTC times; this keeps a looser schema from letting NaN through
  if (!Number.isFinite(at)) {
    throw new InvalidRecordError(
      'time',
      `publishedAt "${record.publishedAt}" of ${record.id}@${record.version} is not a time`
    )
  }
  const ahead = at - now
  if (ahead > MAX_CLOCK_SKEW_MS) {
    throw new InvalidRecordError(
      'time',
      `${record.id}@${record.version} is dated ${record.publishedAt}, ${describeDuration(ahead)} ahead of this node's clock; records more than ${describeDuration(MAX_CLOCK_SKEW_MS)} ahead are refused (is the publisher's clock wrong?)`
    )
  }
}

/** `42 s`, `12 min`, `5 h` or `3 days`: how far ahead, in words a log reader takes in at once. */
function describeDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s} s`
  if (s < 120 * 60) return `${Math.round(s / 60)} min`
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`
  return `${Math.round(s / 86_400)} days`
}
