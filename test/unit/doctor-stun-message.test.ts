import { describe, expect, test } from 'vitest'
import { StunDecodeError } from '../../relay/doctor/errors.ts'
import {
  decodeErrorCode,
  decodeText,
  decodeXorAddress,
  encodeErrorCode,
  encodeXorAddress,
  requestedTransportUdp,
  textAttribute
} from '../../relay/doctor/stun-attributes.ts'
import {
  StunAttr,
  StunClass,
  StunMethod,
  decodeStunMessage,
  encodeStunMessage,
  getAttribute,
  longTermKey,
  newTransactionId,
  verifyIntegrity
} from '../../relay/doctor/stun-message.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

// RFC 5769 (Test Vectors for STUN), section 2
const SHORT_TERM_PASSWORD = utf8('VOkJxbRl1RmTxUk/WvJxBt')
const TRANSACTION_ID = hex('b7e7a701 bc34d686 fa87dfae')

const SAMPLE_REQUEST = hex(`
  00010058 2112a442 b7e7a701 bc34d686 fa87dfae
  80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff
  80290008 932ff9b1 51263b36
  00060009 6576746a 3a683676 59202020
  00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  80280004 e57a3bcf`)

const SAMPLE_IPV4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  80280004 c07d4c96`)

const SAMPLE_IPV6_RESPONSE = hex(`
  01010048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  80280004 c8fb0b4c`)

const SAMPLE_LONG_TERM_REQUEST = hex(`
  00010060 2112a442 78ad3433 c6ad72c0 29da412e
  00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
  0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
  0014000b 6578616d 706c652e 6f726700
  00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`)

describe('RFC 5769 test vectors', () => {
  test('2.1 sample request: decoded, its MESSAGE-INTEGRITY and FINGERPRINT verified, and encoded back byte for byte', () => {
    const message = decodeStunMessage(SAMPLE_REQUEST)
    expect(message.method).toBe(StunMethod.binding)
    expect(message.cls).toBe(StunClass.request)
    expect(message.transactionId).toEqual(TRANSACTION_ID)
    expect(message.fingerprinted).toBe(true)
    expect(decodeText(StunAttr.username, getAttribute(message, StunAttr.username)!)).toBe('evtj:h6vY')
    expect(decodeText(StunAttr.software, getAttribute(message, StunAttr.software)!)).toBe('STUN test client')
    expect(verifyIntegrity(message, SHORT_TERM_PASSWORD)).toBe(true)
    expect(verifyIntegrity(message, utf8('not the password'))).toBe(false)

    // the vector pads USERNAME with spaces; PRIORITY and ICE-CONTROLLED are opaque here
    const attributes = message.attributes.filter(
      a => a.type !== StunAttr.messageIntegrity && a.type !== StunAttr.fingerprint
    )
    const encoded = encodeStunMessage(
      { method: StunMethod.binding, cls: StunClass.request, transactionId: TRANSACTION_ID, attributes },
      { integrityKey: SHORT_TERM_PASSWORD, fingerprint: true, padding: 0x20 }
    )
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(SAMPLE_REQUEST).toString('hex'))
  })

  test('2.2 IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853, integrity verified, encoded back', () => {
    const message = decodeStunMessage(SAMPLE_IPV4_RESPONSE)
    expect(message.cls).toBe(StunClass.success)
    expect(message.method).toBe(StunMethod.binding)
    const mapped = decodeXorAddress(getAttribute(message, StunAttr.xorMappedAddress)!, message.transactionId)
    expect(mapped).toEqual({ family: 'IPv4', address: '192.0.2.1', port: 32853 })
    expect(verifyIntegrity(message, SHORT_TERM_PASSWORD)).toBe(true)

    const encoded = encodeStunMessage(
      {
        method: StunMethod.binding,
        cls: StunClass.success,
        transactionId: TRANSACTION_ID,
        attributes: [
          textAttribute(StunAttr.software, 'test vector'),
          encodeXorAddress(StunAttr.xorMappedAddress, mapped, TRANSACTION_ID)
        ]
      },
      { integrityKey: SHORT_TERM_PASSWORD, fingerprint: true, padding: 0x20 }
    )
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(SAMPLE_IPV4_RESPONSE).toString('hex'))
  })

  test('2.3 IPv6 response: the address is XORed with the cookie and the transaction id', () => {
    const message = decodeStunMessage(SAMPLE_IPV6_RESPONSE)
    const mapped = decodeXorAddress(getAttribute(message, StunAttr.xorMappedAddress)!, message.transactionId)
    expect(mapped).toEqual({ family: 'IPv6', address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 })
    expect(verifyIntegrity(message, SHORT_TERM_PASSWORD)).toBe(true)
    const encoded = encodeStunMessage(
      {
        method: StunMethod.binding,
        cls: StunClass.success,
        transactionId: TRANSACTION_ID,
        attributes: [
          textAttribute(StunAttr.software, 'test vector'),
          encodeXorAddress(StunAttr.xorMappedAddress, mapped, TRANSACTION_ID)
        ]
      },
      { integrityKey: SHORT_TERM_PASSWORD, fingerprint: true, padding: 0x20 }
    )
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(SAMPLE_IPV6_RESPONSE).toString('hex'))
  })

  test('2.4 long-term credentials: key MD5(username:realm:password), request encoded byte for byte', () => {
    // the password after SASLprep ("The<U+00AD>M<U+00AA>tr<U+2168>" becomes "TheMatrIX")
    const key = longTermKey('マトリックス', 'example.org', 'TheMatrIX')
    const message = decodeStunMessage(SAMPLE_LONG_TERM_REQUEST)
    expect(message.fingerprinted).toBe(false)
    expect(verifyIntegrity(message, key)).toBe(true)
    expect(verifyIntegrity(message, longTermKey('マトリックス', 'example.org', 'wrong'))).toBe(false)
    const transactionId = hex('78ad3433 c6ad72c0 29da412e')
    const encoded = encodeStunMessage(
      {
        method: StunMethod.binding,
        cls: StunClass.request,
        transactionId,
        attributes: [
          textAttribute(StunAttr.username, 'マトリックス'),
          textAttribute(StunAttr.nonce, 'f//499k954d6OL34oL9FSTvy64sA'),
          textAttribute(StunAttr.realm, 'example.org')
        ]
      },
      { integrityKey: key }
    )
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(SAMPLE_LONG_TERM_REQUEST).toString('hex'))
  })
})

describe('message types and TURN attributes', () => {
  test('method and class interleave into the type field as RFC 8489 §5 draws it', () => {
    const type = (method: number, cls: StunClass): string =>
      Buffer.from(
        encodeStunMessage({ method, cls, transactionId: newTransactionId(), attributes: [] }).subarray(0, 2)
      ).toString('hex')
    expect(type(StunMethod.binding, StunClass.request)).toBe('0001')
    expect(type(StunMethod.binding, StunClass.error)).toBe('0111')
    expect(type(StunMethod.allocate, StunClass.request)).toBe('0003')
    expect(type(StunMethod.allocate, StunClass.success)).toBe('0103')
    expect(type(StunMethod.allocate, StunClass.error)).toBe('0113')
    expect(type(StunMethod.refresh, StunClass.request)).toBe('0004')
    const decoded = decodeStunMessage(
      encodeStunMessage({
        method: StunMethod.refresh,
        cls: StunClass.error,
        transactionId: newTransactionId(),
        attributes: []
      })
    )
    expect([decoded.method, decoded.cls]).toEqual([StunMethod.refresh, StunClass.error])
  })

  test('ERROR-CODE, REQUESTED-TRANSPORT and a relayed address survive a round trip', () => {
    const transactionId = newTransactionId()
    const bytes = encodeStunMessage({
      method: StunMethod.allocate,
      cls: StunClass.error,
      transactionId,
      attributes: [
        encodeErrorCode(438, 'Stale Nonce'),
        requestedTransportUdp(),
        encodeXorAddress(
          StunAttr.xorRelayedAddress,
          { family: 'IPv4', address: '198.51.100.10', port: 49200 },
          transactionId
        )
      ]
    })
    const message = decodeStunMessage(bytes)
    expect(decodeErrorCode(getAttribute(message, StunAttr.errorCode)!)).toEqual({
      code: 438,
      reason: 'Stale Nonce'
    })
    expect(getAttribute(message, StunAttr.requestedTransport)).toEqual(Uint8Array.of(17, 0, 0, 0))
    expect(decodeXorAddress(getAttribute(message, StunAttr.xorRelayedAddress)!, transactionId)).toEqual({
      family: 'IPv4',
      address: '198.51.100.10',
      port: 49200
    })
  })

  test('a message signed with one key does not verify with another; one without MESSAGE-INTEGRITY gives undefined', () => {
    const init = {
      method: StunMethod.allocate,
      cls: StunClass.success,
      transactionId: newTransactionId(),
      attributes: []
    }
    const signed = decodeStunMessage(
      encodeStunMessage(init, { integrityKey: longTermKey('u', 'r', 'right'), fingerprint: true })
    )
    expect(verifyIntegrity(signed, longTermKey('u', 'r', 'right'))).toBe(true)
    expect(verifyIntegrity(signed, longTermKey('u', 'r', 'wrong'))).toBe(false)
    expect(
      verifyIntegrity(decodeStunMessage(encodeStunMessage(init)), longTermKey('u', 'r', 'right'))
    ).toBeUndefined()
  })

  test('text attributes longer than the RFC allows are refused both ways', () => {
    expect(() => textAttribute(StunAttr.username, 'u'.repeat(513))).toThrow(RangeError)
    expect(() => decodeText(StunAttr.realm, new Uint8Array(764).fill(0x61))).toThrow(StunDecodeError)
    expect(() => decodeText(StunAttr.nonce, Uint8Array.of(0xff, 0xfe))).toThrow(/not UTF-8/)
  })
})

describe('untrusted datagrams', () => {
  const valid = (): Uint8Array => SAMPLE_IPV4_RESPONSE.slice()
  const flip = (b: Uint8Array, i: number): Uint8Array => ((b[i] = (b[i] ?? 0) ^ 1), b)
  const cases: Array<[string, (b: Uint8Array) => Uint8Array, RegExp]> = [
    ['too short for a header', b => b.subarray(0, 19), /shorter than a STUN header/],
    ['too long', () => new Uint8Array(4096), /too long/],
    ['the leading bits set', b => ((b[0] = 0x40), b), /first two bits/],
    ['no magic cookie', b => ((b[4] = 0), b), /magic cookie/],
    ['a length that is not a multiple of 4', b => ((b[3] = 0x3d), b), /multiple of 4/],
    ['a length other than the datagram', b => ((b[3] = 0x38), b), /does not match/],
    ['a datagram cut short', b => b.subarray(0, b.length - 4), /does not match/],
    ['an attribute running past the end', b => ((b[22] = 0x01), b), /runs past the end/],
    ['a wrong FINGERPRINT', b => flip(b, b.length - 1), /wrong FINGERPRINT/],
    ['a changed byte under the FINGERPRINT', b => flip(b, 40), /wrong FINGERPRINT/]
  ]
  test.each(cases)('refused: %s', (_, mangle, reason) => {
    expect(() => decodeStunMessage(mangle(valid()))).toThrow(reason)
    expect(() => decodeStunMessage(mangle(valid()))).toThrow(StunDecodeError)
  })

  test('FINGERPRINT must be last; attributes after MESSAGE-INTEGRITY are ignored', () => {
    const transactionId = newTransactionId()
    const withFingerprint = encodeStunMessage(
      { method: StunMethod.binding, cls: StunClass.success, transactionId, attributes: [] },
      { fingerprint: true }
    )
    // the fingerprint followed by another attribute (length adjusted)
    const extra = new Uint8Array(withFingerprint.length + 8)
    extra.set(withFingerprint)
    extra.set(hex('80220004 41424344'), withFingerprint.length)
    new DataView(extra.buffer).setUint16(2, extra.length - 20)
    expect(() => decodeStunMessage(extra)).toThrow(/not the last/)

    const key = longTermKey('u', 'r', 'p')
    const signed = encodeStunMessage(
      { method: StunMethod.binding, cls: StunClass.success, transactionId, attributes: [] },
      { integrityKey: key }
    )
    const trailing = new Uint8Array(signed.length + 8)
    trailing.set(signed)
    trailing.set(hex('80220004 41424344'), signed.length)
    new DataView(trailing.buffer).setUint16(2, trailing.length - 20)
    const message = decodeStunMessage(trailing)
    expect(getAttribute(message, StunAttr.software)).toBeUndefined()
    expect(verifyIntegrity(message, key)).toBe(true)
  })

  test('an address attribute of an unknown family or the wrong size is refused', () => {
    expect(() => decodeXorAddress(hex('00030000 00000000'), newTransactionId())).toThrow(StunDecodeError)
    expect(() => decodeXorAddress(hex('00010000 000000'), newTransactionId())).toThrow(StunDecodeError)
    expect(() => decodeErrorCode(hex('000009'))).toThrow(StunDecodeError)
    expect(() => decodeErrorCode(hex('00000201'))).toThrow(/out of range/)
  })
})
