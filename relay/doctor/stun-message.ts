/**
 * STUN messages (RFC 8489, formerly 5389) and the TURN attributes the doctor uses (RFC 8656,
 * formerly 5766): the header and the attribute list, encoded, and decoded from untrusted
 * datagrams checking every length. What is inside each attribute is `stun-attributes.ts`'s.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { StunDecodeError } from './errors.ts'

export const MAGIC_COOKIE = 0x2112a442
export const HEADER_BYTES = 20
/** Larger datagrams are refused unread: no answer the doctor asks for comes near (coturn's are < 300 bytes). */
export const MAX_MESSAGE_BYTES = 2048
/** A message with more attributes than this is refused (every answer the doctor reads has fewer than 12). */
const MAX_ATTRIBUTES = 32
/** `FINGERPRINT` is the CRC-32 of the message XOR this ("STUN"). */
const FINGERPRINT_XOR = 0x5354554e

export const StunMethod = { binding: 0x001, allocate: 0x003, refresh: 0x004 } as const
export const StunClass = { request: 0, indication: 1, success: 2, error: 3 } as const
export type StunClass = (typeof StunClass)[keyof typeof StunClass]

/** Attribute types (RFC 8489 §18.3, RFC 8656 §18). */
export const StunAttr = {
  mappedAddress: 0x0001,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  lifetime: 0x000d,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
  xorMappedAddress: 0x0020,
  software: 0x8022,
  fingerprint: 0x8028
} as const

export interface StunAttribute {
  type: number
  value: Uint8Array
}

export interface StunMessageInit {
  method: number
  cls: StunClass
  /** 12 bytes. */
  transactionId: Uint8Array
  attributes: StunAttribute[]
}

/** A decoded message; `raw` and the offsets let its `MESSAGE-INTEGRITY` be checked once the key is known. */
export interface StunMessage extends StunMessageInit {
  raw: Uint8Array
  /** Offset of the `MESSAGE-INTEGRITY` attribute's header in `raw`, when there is one. */
  integrityOffset?: number
  /** Whether a `FINGERPRINT` was present (it was then checked: a wrong one is refused). */
  fingerprinted: boolean
}

export interface TransportAddress {
  family: 'IPv4' | 'IPv6'
  address: string
  port: number
}

export interface EncodeOptions {
  /** Adds `MESSAGE-INTEGRITY` (HMAC-SHA1) with this key ({@link longTermKey} for TURN). */
  integrityKey?: Uint8Array
  /** Adds `FINGERPRINT` (last). */
  fingerprint?: boolean
  /** The byte attribute values are padded with (RFC 5769's vectors use spaces). @default 0 */
  padding?: number
}

/** A fresh random 96-bit transaction id. */
export function newTransactionId(): Uint8Array {
  return new Uint8Array(randomBytes(12))
}

/** The long-term credential key: MD5(username ":" realm ":" password) (RFC 8489 §9.2.2). */
export function longTermKey(username: string, realm: string, password: string): Uint8Array {
  return new Uint8Array(createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest())
}

function messageType(method: number, cls: StunClass): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 1) << 4) |
    ((cls & 2) << 7)
  )
}

const padded = (length: number): number => (length + 3) & ~3

/** Encodes a message, adding `MESSAGE-INTEGRITY` and `FINGERPRINT` as asked. */
export function encodeStunMessage(init: StunMessageInit, options: EncodeOptions = {}): Uint8Array {
  if (init.transactionId.length !== 12) throw new RangeError('a STUN transaction id is 12 bytes')
  const attrsLength = init.attributes.reduce((sum, a) => sum + 4 + padded(a.value.length), 0)
  const total =
    HEADER_BYTES + attrsLength + (options.integrityKey != null ? 24 : 0) + (options.fingerprint ? 8 : 0)
  const bytes = new Uint8Array(total).fill(options.padding ?? 0)
  const view = new DataView(bytes.buffer)
  view.setUint16(0, messageType(init.method, init.cls))
  view.setUint32(4, MAGIC_COOKIE)
  bytes.set(init.transactionId, 8)
  let offset = HEADER_BYTES
  const put = (type: number, value: Uint8Array): void => {
    if (value.length > 0xffff) throw new RangeError(`STUN attribute 0x${type.toString(16)} is too long`)
    view.setUint16(offset, type)
    view.setUint16(offset + 2, value.length)
    bytes.set(value, offset + 4)
    offset += 4 + padded(value.length)
  }
  for (const attribute of init.attributes) put(attribute.type, attribute.value)
  if (options.integrityKey != null) {
    // the length counts everything up to and including MESSAGE-INTEGRITY, nothing after it
    view.setUint16(2, offset + 24 - HEADER_BYTES)
    put(StunAttr.messageIntegrity, hmacSha1(options.integrityKey, bytes.subarray(0, offset)))
  }
  if (options.fingerprint === true) {
    view.setUint16(2, offset + 8 - HEADER_BYTES)
    const value = new Uint8Array(4)
    new DataView(value.buffer).setUint32(0, (crc32(bytes.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0)
    put(StunAttr.fingerprint, value)
  }
  view.setUint16(2, offset - HEADER_BYTES)
  return bytes
}

/**
 * Decodes a datagram, refusing anything that breaks RFC 8489's rules: the two leading zero
 * bits, the magic cookie, a length that matches the datagram and is a multiple of 4,
 * attributes that fit, `FINGERPRINT` last and correct. Attributes after `MESSAGE-INTEGRITY`
 * other than `FINGERPRINT` are dropped, as the RFC says receivers must ignore them.
 */
export function decodeStunMessage(bytes: Uint8Array): StunMessage {
  if (bytes.length < HEADER_BYTES)
    throw new StunDecodeError(`${bytes.length} bytes: shorter than a STUN header`)
  if (bytes.length > MAX_MESSAGE_BYTES) throw new StunDecodeError(`${bytes.length} bytes: too long`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const type = view.getUint16(0)
  if ((type & 0xc000) !== 0) throw new StunDecodeError('the first two bits are not zero: not STUN')
  if (view.getUint32(4) !== MAGIC_COOKIE) throw new StunDecodeError('no magic cookie: not STUN (RFC 3489?)')
  const length = view.getUint16(2)
  if (length % 4 !== 0) throw new StunDecodeError(`message length ${length} is not a multiple of 4`)
  if (HEADER_BYTES + length !== bytes.length) {
    throw new StunDecodeError(`message length ${length} does not match the ${bytes.length}-byte datagram`)
  }
  const message: StunMessage = {
    method: (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80),
    cls: (((type >> 4) & 1) | ((type >> 7) & 2)) as StunClass,
    transactionId: bytes.slice(8, 20),
    attributes: [],
    raw: bytes,
    fingerprinted: false
  }
  let offset = HEADER_BYTES
  let count = 0
  while (offset < bytes.length) {
    if (++count > MAX_ATTRIBUTES) throw new StunDecodeError(`more than ${MAX_ATTRIBUTES} attributes`)
    if (bytes.length - offset < 4) throw new StunDecodeError('a truncated attribute header')
    const attrType = view.getUint16(offset)
    const attrLength = view.getUint16(offset + 2)
    if (offset + 4 + padded(attrLength) > bytes.length) {
      throw new StunDecodeError(`attribute 0x${attrType.toString(16)} runs past the end of the message`)
    }
    const value = bytes.slice(offset + 4, offset + 4 + attrLength)
    if (attrType === StunAttr.fingerprint) {
      if (offset + 8 !== bytes.length) throw new StunDecodeError('FINGERPRINT is not the last attribute')
      if (attrLength !== 4) throw new StunDecodeError('FINGERPRINT is not 4 bytes')
      // computed over the message as it stands, whose length already counts the fingerprint
      const expected = (crc32(bytes.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0
      if (new DataView(value.buffer).getUint32(0) !== expected) throw new StunDecodeError('wrong FINGERPRINT')
      message.fingerprinted = true
      message.attributes.push({ type: attrType, value })
    } else if (message.integrityOffset == null) {
      if (attrType === StunAttr.messageIntegrity) {
        if (attrLength !== 20) throw new StunDecodeError('MESSAGE-INTEGRITY is not 20 bytes')
        message.integrityOffset = offset
      }
      message.attributes.push({ type: attrType, value })
    }
    offset += 4 + padded(attrLength)
  }
  return message
}

/**
 * Whether the message's `MESSAGE-INTEGRITY` is right for `key`: `undefined` when it has none.
 * The HMAC covers the message up to the attribute, with the length as if it ended there.
 */
export function verifyIntegrity(message: StunMessage, key: Uint8Array): boolean | undefined {
  const at = message.integrityOffset
  if (at == null) return undefined
  const covered = message.raw.slice(0, at)
  new DataView(covered.buffer).setUint16(2, at + 24 - HEADER_BYTES)
  const expected = hmacSha1(key, covered)
  return timingSafeEqual(expected, message.raw.subarray(at + 4, at + 24))
}

function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha1', key).update(data).digest())
}

/** The value of the first attribute of `type`, if any. */
export function getAttribute(message: StunMessageInit, type: number): Uint8Array | undefined {
  return message.attributes.find(a => a.type === type)?.value
}
