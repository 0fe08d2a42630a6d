import { StunDecodeError } from './errors.ts'
import { HEADER_BYTES, MAGIC_COOKIE, MAX_MESSAGE_BYTES } from './stun-message.ts'

/**
 * Cuts STUN messages off a TCP or TLS stream (RFC 8489 §6.2.2): they come back to back, each
 * as long as its 20-byte header says (its length field, always a multiple of 4, plus the
 * header). Chunks may end anywhere: a message split over several, or several in one.
 *
 * A stream cannot be resynchronised, so the first bytes that cannot start a STUN message (the
 * two leading zero bits, the magic cookie, a sane length) make {@link push} throw
 * {@link StunDecodeError}, and the stream is to be dropped. TURN ChannelData (leading bits 01)
 * is refused too: the doctor binds no channel, so a server never has a reason to send it.
 */
export class StunStreamDecoder {
  private buffered = new Uint8Array(0)
  private broken?: StunDecodeError

  /** Adds `chunk` and returns each message it completes (whole, header included), in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.broken != null) throw this.broken
    // a plain Uint8Array over a Buffer's memory, so that `slice` below copies (Buffer's does not)
    const input = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const bytes = this.buffered.length === 0 ? input : concat(this.buffered, input)
    const messages: Uint8Array[] = []
    let offset = 0
    try {
      for (;;) {
        const length = messageLength(bytes.subarray(offset))
        if (length == null || bytes.length - offset < length) break
        messages.push(bytes.slice(offset, offset + length))
        offset += length
      }
    } catch (err) {
      this.broken = err as StunDecodeError
      this.buffered = new Uint8Array(0)
      throw err
    }
    // a copy: `chunk` may be a view of memory Node reuses
    this.buffered = bytes.slice(offset)
    return messages
  }

  /** How many bytes of an incomplete message are waiting for the rest. */
  get pending(): number {
    return this.buffered.length
  }
}

/**
 * The whole length of the message `bytes` starts with, once enough of its header came to tell
 * (`undefined` before); throws when they cannot start a STUN message.
 */
function messageLength(bytes: Uint8Array): number | undefined {
  if (bytes.length === 0) return undefined
  // a TLS alert is 7 bytes: known by its first two, it must not wait for an 8th that never comes
  if ((bytes[0]! & 0xc0) !== 0 || isTlsRecord(bytes)) {
    throw new StunDecodeError(`not STUN: ${describeStart(bytes)}`)
  }
  if (bytes.length < 8) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(4) !== MAGIC_COOKIE) throw new StunDecodeError(`not STUN: ${describeStart(bytes)}`)
  const length = view.getUint16(2)
  if (length % 4 !== 0) throw new StunDecodeError(`message length ${length} is not a multiple of 4`)
  if (HEADER_BYTES + length > MAX_MESSAGE_BYTES) {
    throw new StunDecodeError(`a ${HEADER_BYTES + length}-byte message, longer than any answer`)
  }
  return HEADER_BYTES + length
}

/** What the stream carries instead, in a few words: the start of a TLS record or of a text line. */
function describeStart(bytes: Uint8Array): string {
  if (isTlsRecord(bytes)) return 'a TLS record (the port speaks TLS)'
  const head = bytes.subarray(0, 24)
  if (head.every(b => (b >= 0x20 && b < 0x7f) || b === 0x0d || b === 0x0a || b === 0x09)) {
    const text = new TextDecoder().decode(head)
    const line = text.split(/\r?\n/)[0] ?? ''
    const next = bytes[head.length]
    const cut = line === text && next != null && next !== 0x0d && next !== 0x0a
    return `it starts with "${line}${cut ? '…' : ''}"`
  }
  return `it starts with 0x${[...bytes.subarray(0, 8)].map(b => b.toString(16).padStart(2, '0')).join('')}`
}

/**
 * A TLS record header: content type 20-23 (an alert is 21, a handshake 22), then version 3.x. No
 * answer the doctor waits for starts so (theirs start with 0x01).
 */
function isTlsRecord(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0]! >= 20 && bytes[0]! <= 23 && bytes[1] === 3
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(a.length + b.length)
  bytes.set(a)
  bytes.set(b, a.length)
  return bytes
}
