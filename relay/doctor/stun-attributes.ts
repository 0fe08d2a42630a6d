/**
 * The values inside STUN/TURN attributes (RFC 8489 §14, RFC 8656 §14): text, `ERROR-CODE`,
 * 32-bit numbers, `REQUESTED-TRANSPORT` and the (XOR-)mapped addresses, each decoded from
 * untrusted bytes with its length checked.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { StunDecodeError } from './errors.ts'
import { MAGIC_COOKIE, StunAttr } from './stun-message.ts'
import type { StunAttribute, TransportAddress } from './stun-message.ts'

/** Longest values RFC 8489 allows, in bytes (`USERNAME` < 513, text of < 128 characters ≤ 763). */
export const MAX_TEXT_BYTES: Readonly<Record<number, number>> = {
  [StunAttr.username]: 512,
  [StunAttr.realm]: 763,
  [StunAttr.nonce]: 763,
  [StunAttr.software]: 763
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A text attribute (`USERNAME`, `REALM`, `NONCE`, `SOFTWARE`), refused beyond its RFC length. */
export function textAttribute(type: number, text: string): StunAttribute {
  const value = new TextEncoder().encode(text)
  const max = MAX_TEXT_BYTES[type] ?? 763
  if (value.length > max) throw new RangeError(`STUN attribute 0x${type.toString(16)} is over ${max} bytes`)
  return { type, value }
}

/** Decodes a text attribute, checking its length and its UTF-8. */
export function decodeText(type: number, value: Uint8Array): string {
  const max = MAX_TEXT_BYTES[type] ?? 763
  if (value.length > max) throw new StunDecodeError(`attribute 0x${type.toString(16)} is over ${max} bytes`)
  try {
    return utf8.decode(value)
  } catch {
    throw new StunDecodeError(`attribute 0x${type.toString(16)} is not UTF-8`)
  }
}

/** `ERROR-CODE` (RFC 8489 §14.8): class × 100 + number, and the reason phrase. */
export function decodeErrorCode(value: Uint8Array): { code: number; reason: string } {
  if (value.length < 4) throw new StunDecodeError('ERROR-CODE is shorter than 4 bytes')
  const cls = value[2]! & 0x07
  const number = value[3]!
  if (cls < 3 || cls > 6 || number > 99)
    throw new StunDecodeError(`ERROR-CODE ${cls}/${number} is out of range`)
  return { code: cls * 100 + number, reason: decodeText(StunAttr.errorCode, value.subarray(4)) }
}

export function encodeErrorCode(code: number, reason: string): StunAttribute {
  const text = new TextEncoder().encode(reason)
  const value = new Uint8Array(4 + text.length)
  value[2] = Math.floor(code / 100)
  value[3] = code % 100
  value.set(text, 4)
  return { type: StunAttr.errorCode, value }
}

/** A 32-bit unsigned attribute (`LIFETIME`). */
export function uint32Attribute(type: number, n: number): StunAttribute {
  const value = new Uint8Array(4)
  new DataView(value.buffer).setUint32(0, n)
  return { type, value }
}

export function decodeUint32(type: number, value: Uint8Array): number {
  if (value.length !== 4) throw new StunDecodeError(`attribute 0x${type.toString(16)} is not 4 bytes`)
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0)
}

/** `REQUESTED-TRANSPORT` UDP (protocol 17, then three reserved bytes). */
export function requestedTransportUdp(): StunAttribute {
  return { type: StunAttr.requestedTransport, value: Uint8Array.of(17, 0, 0, 0) }
}

/**
 * An `XOR-MAPPED-ADDRESS` / `XOR-RELAYED-ADDRESS` value: the port XOR the cookie's top half,
 * the address XOR the cookie (and, for IPv6, the transaction id).
 */
export function decodeXorAddress(value: Uint8Array, transactionId: Uint8Array): TransportAddress {
  const mask = xorMask(transactionId)
  return decodeAddress(value, mask)
}

/** A plain `MAPPED-ADDRESS` (servers of the RFC 3489 era send only this). */
export function decodeMappedAddress(value: Uint8Array): TransportAddress {
  return decodeAddress(value, new Uint8Array(18))
}

export function encodeXorAddress(
  type: number,
  address: TransportAddress,
  transactionId: Uint8Array
): StunAttribute {
  const mask = xorMask(transactionId)
  const ip = address.family === 'IPv4' ? ipv4Bytes(address.address) : ipv6Bytes(address.address)
  const value = new Uint8Array(4 + ip.length)
  value[1] = address.family === 'IPv4' ? 1 : 2
  new DataView(value.buffer).setUint16(2, address.port ^ ((mask[0]! << 8) | mask[1]!))
  for (let i = 0; i < ip.length; i++) value[4 + i] = ip[i]! ^ mask[i]!
  return { type, value }
}

/** The cookie then the transaction id: bytes 0-1 mask the port, bytes 0-3 (IPv4) or 0-15 (IPv6) the address. */
function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(16)
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE)
  mask.set(transactionId.subarray(0, 12), 4)
  return mask
}

function decodeAddress(value: Uint8Array, mask: Uint8Array): TransportAddress {
  const family = value[1]
  const size = family === 1 ? 4 : family === 2 ? 16 : 0
  if (size === 0 || value.length !== 4 + size) {
    throw new StunDecodeError(`an address attribute of family ${family ?? '?'} and ${value.length} bytes`)
  }
  const port = new DataView(value.buffer, value.byteOffset).getUint16(2) ^ ((mask[0]! << 8) | mask[1]!)
  const ip = value.subarray(4).map((b, i) => b ^ mask[i]!)
  if (size === 4) return { family: 'IPv4', address: [...ip].join('.'), port }
  const groups = Array.from({ length: 8 }, (_, i) => ((ip[2 * i]! << 8) | ip[2 * i + 1]!).toString(16))
  // the URL parser writes IPv6 addresses the canonical way (RFC 5952: zeros compressed)
  return { family: 'IPv6', address: new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1), port }
}

function ipv4Bytes(address: string): Uint8Array {
  if (!isIPv4(address)) throw new RangeError(`${address} is not an IPv4 address`)
  return Uint8Array.from(address.split('.').map(Number))
}

function ipv6Bytes(address: string): Uint8Array {
  if (!isIPv6(address)) throw new RangeError(`${address} is not an IPv6 address`)
  const [head = '', tail] = address.split('::')
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map(g => parseInt(g, 16)))
  const left = parse(head)
  const right = tail != null ? parse(tail) : []
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  const bytes = new Uint8Array(16)
  groups.forEach((g, i) => new DataView(bytes.buffer).setUint16(2 * i, g))
  return bytes
}
