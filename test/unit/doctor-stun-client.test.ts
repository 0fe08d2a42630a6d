import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, test } from 'vitest'
import { StunProtocolError, StunTimeoutError } from '../../relay/doctor/errors.ts'
import {
  decodeText,
  decodeUint32,
  encodeErrorCode,
  encodeXorAddress,
  textAttribute,
  uint32Attribute
} from '../../relay/doctor/stun-attributes.ts'
import { StunClient } from '../../relay/doctor/stun-client.ts'
import {
  StunAttr,
  StunClass,
  StunMethod,
  decodeStunMessage,
  encodeStunMessage,
  getAttribute,
  longTermKey,
  verifyIntegrity
} from '../../relay/doctor/stun-message.ts'
import { stunBinding, turnAllocate } from '../../relay/doctor/turn-probe.ts'
import type { StunMessage, StunMessageInit } from '../../relay/doctor/stun-message.ts'
import type { RemoteInfo, Socket } from 'node:dgram'

/** A UDP server on 127.0.0.1 whose answers a test writes: `handle` returns the datagrams to send back. */
interface FakeServer {
  port: number
  received: StunMessage[]
  socket: Socket
}

const servers: Socket[] = []
const clients: StunClient[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
  for (const c of clients.splice(0)) c.close()
})

async function fakeServer(
  handle: (request: StunMessage, from: RemoteInfo) => Uint8Array[]
): Promise<FakeServer> {
  const socket = createSocket('udp4')
  servers.push(socket)
  const received: StunMessage[] = []
  socket.on('message', (datagram, from) => {
    const request = decodeStunMessage(new Uint8Array(datagram))
    received.push(request)
    for (const answer of handle(request, from)) socket.send(answer, from.port, from.address)
  })
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  return { port: socket.address().port, received, socket }
}

async function client(port: number, timeoutMs = 150, attempts = 3): Promise<StunClient> {
  const c = await StunClient.connect({ family: 'IPv4', address: '127.0.0.1', port }, { timeoutMs, attempts })
  clients.push(c)
  return c
}

function answer(
  request: StunMessage,
  cls: StunClass,
  attributes: StunMessageInit['attributes'],
  key?: Uint8Array
): Uint8Array {
  return encodeStunMessage(
    { method: request.method, cls, transactionId: request.transactionId, attributes },
    { ...(key != null ? { integrityKey: key } : {}), fingerprint: true }
  )
}

describe('STUN client', () => {
  test('retransmits the same request until answered, and ignores what is not its answer', async () => {
    const server = await fakeServer(request => {
      if (server.received.length < 2) return [] // the first send is "lost"
      const mapped = encodeXorAddress(
        StunAttr.xorMappedAddress,
        { family: 'IPv4', address: '203.0.113.5', port: 40123 },
        request.transactionId
      )
      const other = new Uint8Array(request.transactionId).map(b => b ^ 0xff)
      return [
        new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'), // not STUN
        encodeStunMessage({
          method: request.method,
          cls: StunClass.success,
          transactionId: other,
          attributes: [mapped]
        }),
        answer(request, StunClass.success, [mapped])
      ]
    })
    const result = await stunBinding(await client(server.port))
    expect(result.mapped).toEqual({ family: 'IPv4', address: '203.0.113.5', port: 40123 })
    expect(server.received).toHaveLength(2)
    expect(server.received[1]!.transactionId).toEqual(server.received[0]!.transactionId)
    expect(server.received[0]!.fingerprinted).toBe(true)
  })

  test('a server that only sends junk is "no answer", saying what came instead', async () => {
    const server = await fakeServer(() => [Uint8Array.of(1, 2, 3)])
    const started = Date.now()
    const err = await stunBinding(await client(server.port, 100, 2)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StunTimeoutError)
    expect((err as StunTimeoutError).invalidAnswer).toMatch(/shorter than a STUN header/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect(server.received).toHaveLength(2)
  })

  test('a closed port is reported as refused', async () => {
    const probe = createSocket('udp4')
    await new Promise<void>(resolve => probe.bind(0, '127.0.0.1', resolve))
    const port = probe.address().port
    probe.close()
    const err = await stunBinding(await client(port, 100, 2)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StunTimeoutError)
    expect((err as StunTimeoutError).refused).toBe(true)
    expect((err as Error).message).toMatch(/no answer in 0\.2 s \(the port is closed\)/)
  })

  test('an error answer to a Binding is a protocol error, not a success', async () => {
    const server = await fakeServer(request => [
      answer(request, StunClass.error, [encodeErrorCode(400, 'Bad Request')])
    ])
    await expect(stunBinding(await client(server.port))).rejects.toThrow(StunProtocolError)
  })
})

/** A TURN server in miniature: 401 with a nonce, one 438 Stale Nonce, then allocations and refreshes. */
function fakeTurn(password: string, options: { staleOnce?: boolean; badIntegrity?: boolean } = {}) {
  const realm = 'relay.test'
  let nonce = 'nonce-1'
  let stale = options.staleOnce ?? false
  const refreshes: number[] = []
  const handle = (request: StunMessage): Uint8Array[] => {
    const username = getAttribute(request, StunAttr.username)
    if (username == null) {
      return [
        answer(request, StunClass.error, [
          encodeErrorCode(401, 'Unauthorized'),
          textAttribute(StunAttr.realm, realm),
          textAttribute(StunAttr.nonce, nonce)
        ])
      ]
    }
    const key = longTermKey(decodeText(StunAttr.username, username), realm, password)
    if (verifyIntegrity(request, key) !== true) {
      return [
        answer(request, StunClass.error, [
          encodeErrorCode(401, 'Unauthorized'),
          textAttribute(StunAttr.realm, realm),
          textAttribute(StunAttr.nonce, nonce)
        ])
      ]
    }
    if (stale || decodeText(StunAttr.nonce, getAttribute(request, StunAttr.nonce)!) !== nonce) {
      stale = false
      nonce = 'nonce-2'
      return [
        answer(request, StunClass.error, [
          encodeErrorCode(438, 'Stale Nonce'),
          textAttribute(StunAttr.realm, realm),
          textAttribute(StunAttr.nonce, nonce)
        ])
      ]
    }
    if (request.method === StunMethod.refresh) {
      refreshes.push(decodeUint32(StunAttr.lifetime, getAttribute(request, StunAttr.lifetime)!))
      return [answer(request, StunClass.success, [uint32Attribute(StunAttr.lifetime, 0)], key)]
    }
    return [
      answer(
        request,
        StunClass.success,
        [
          encodeXorAddress(
            StunAttr.xorRelayedAddress,
            { family: 'IPv4', address: '198.51.100.10', port: 49200 },
            request.transactionId
          ),
          encodeXorAddress(
            StunAttr.xorMappedAddress,
            { family: 'IPv4', address: '203.0.113.5', port: 40123 },
            request.transactionId
          ),
          uint32Attribute(StunAttr.lifetime, 600)
        ],
        options.badIntegrity === true ? longTermKey('x', realm, 'y') : key
      )
    ]
  }
  return { handle, refreshes }
}

describe('TURN allocation', () => {
  test('401 → authenticated Allocate (a stale nonce retried) → relayed address → freed with LIFETIME 0', async () => {
    const turn = fakeTurn('secret', { staleOnce: true })
    const server = await fakeServer(turn.handle)
    const result = await turnAllocate(await client(server.port), {
      username: '1796302800:tab',
      password: 'secret'
    })
    expect(result).toEqual({
      outcome: 'allocated',
      relayed: { family: 'IPv4', address: '198.51.100.10', port: 49200 },
      mapped: { family: 'IPv4', address: '203.0.113.5', port: 40123 },
      lifetime: 600,
      realm: 'relay.test',
      freed: true
    })
    expect(turn.refreshes).toEqual([0])
    const allocates = server.received.filter(m => m.method === StunMethod.allocate)
    expect(allocates).toHaveLength(3)
    expect(allocates.map(m => getAttribute(m, StunAttr.requestedTransport))).toEqual(
      Array(3).fill(Uint8Array.of(17, 0, 0, 0))
    )
    expect(decodeText(StunAttr.nonce, getAttribute(allocates[2]!, StunAttr.nonce)!)).toBe('nonce-2')
  })

  test('a wrong password is "auth-failed" with the code; no credentials is "needs-credentials"', async () => {
    const server = await fakeServer(fakeTurn('secret').handle)
    expect(await turnAllocate(await client(server.port), { username: 'u', password: 'wrong' })).toEqual({
      outcome: 'auth-failed',
      code: 401,
      reason: 'Unauthorized',
      realm: 'relay.test'
    })
    expect(await turnAllocate(await client(server.port), undefined)).toEqual({
      outcome: 'needs-credentials',
      realm: 'relay.test'
    })
  })

  test('a success whose MESSAGE-INTEGRITY does not match the key is not believed', async () => {
    const server = await fakeServer(fakeTurn('secret', { badIntegrity: true }).handle)
    await expect(
      turnAllocate(await client(server.port), { username: 'u', password: 'secret' })
    ).rejects.toThrow(/MESSAGE-INTEGRITY is wrong/)
  })
})
