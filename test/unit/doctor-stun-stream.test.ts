import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { StunConnectionError, StunDecodeError, StunTimeoutError } from '../../relay/doctor/errors.ts'
import { checkIceTarget } from '../../relay/doctor/ice-checks.ts'
import { encodeXorAddress, textAttribute } from '../../relay/doctor/stun-attributes.ts'
import { StunClient } from '../../relay/doctor/stun-client.ts'
import {
  StunAttr,
  StunClass,
  StunMethod,
  encodeStunMessage,
  newTransactionId
} from '../../relay/doctor/stun-message.ts'
import { StunStreamDecoder } from '../../relay/doctor/stun-stream.ts'
import { stunBinding } from '../../relay/doctor/turn-probe.ts'
import { selfSignedCertificate } from '../helpers/tls.ts'
import type { Server, Socket } from 'node:net'

/** A Binding success response with an odd-length SOFTWARE (padded) and a FINGERPRINT: 56 bytes. */
function response(transactionId = newTransactionId()): Uint8Array {
  return encodeStunMessage(
    {
      method: StunMethod.binding,
      cls: StunClass.success,
      transactionId,
      attributes: [
        encodeXorAddress(
          StunAttr.xorMappedAddress,
          { family: 'IPv4', address: '203.0.113.5', port: 40123 },
          transactionId
        ),
        textAttribute(StunAttr.software, 'coturn')
      ]
    },
    { fingerprint: true }
  )
}

describe('STUN over a stream: framing (RFC 8489 §6.2.2)', () => {
  test('a message split across chunks comes out whole once its last byte is in, and not before', () => {
    const message = response()
    // byte by byte: the header's length field itself arrives in two pieces
    const decoder = new StunStreamDecoder()
    for (let i = 0; i < message.length - 1; i++) expect(decoder.push(message.subarray(i, i + 1))).toEqual([])
    expect(decoder.pending).toBe(message.length - 1)
    expect(decoder.push(message.subarray(-1))).toEqual([message])
    expect(decoder.pending).toBe(0)
    // cut inside the header, then inside an attribute
    const other = new StunStreamDecoder()
    expect(other.push(message.subarray(0, 7))).toEqual([])
    expect(other.push(message.subarray(7, 33))).toEqual([])
    expect(other.push(message.subarray(33))).toEqual([message])
  })

  test('two messages in one chunk, then one and a half: each comes out whole, in order', () => {
    const [a, b, c, d] = [response(), response(), response(), response()]
    const decoder = new StunStreamDecoder()
    expect(decoder.push(Buffer.concat([a, b]))).toEqual([a, b])
    expect(decoder.push(Buffer.concat([c, d.subarray(0, 30)]))).toEqual([c])
    expect(decoder.pending).toBe(30)
    expect(decoder.push(d.subarray(30))).toEqual([d])
  })

  test('what is not STUN is refused at its first bytes, and the stream stays refused', () => {
    const http = new StunStreamDecoder()
    expect(() => http.push(new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'))).toThrow(
      new StunDecodeError('not STUN: it starts with "HTTP/1.1 400 Bad Request"')
    )
    expect(() => http.push(response())).toThrow(StunDecodeError)
    // a TLS alert (7 bytes, shorter than the 8 the magic cookie needs): no wait for more
    expect(() =>
      new StunStreamDecoder().push(Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46))
    ).toThrow(/not STUN: a TLS record \(the port speaks TLS\)/)
    const noCookie = response()
    noCookie[4] = 0
    expect(() => new StunStreamDecoder().push(noCookie)).toThrow(/not STUN: it starts with 0x0101/)
    const huge = response()
    new DataView(huge.buffer).setUint16(2, 4096)
    expect(() => new StunStreamDecoder().push(huge.subarray(0, 20))).toThrow(
      /4116-byte message, longer than any/
    )
  })
})

/** A TCP server on 127.0.0.1: `handle` gets each request and the socket, and writes what it likes. */
const servers: Server[] = []
const clients: StunClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  await Promise.all(
    servers.splice(0).map(async s => {
      s.close()
      await new Promise(resolve => s.once('close', resolve))
    })
  )
})

async function listen(server: Server): Promise<number> {
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return typeof address === 'object' && address != null ? address.port : 0
}

async function tcpServer(
  handle: (request: Uint8Array, socket: Socket) => void
): Promise<{ port: number; received: Uint8Array[] }> {
  const received: Uint8Array[] = []
  const server = createServer(socket => {
    const decoder = new StunStreamDecoder()
    socket.on('error', () => {})
    socket.on('data', chunk => {
      let requests: Uint8Array[]
      try {
        requests = decoder.push(chunk)
      } catch {
        // a ClientHello: answer as a plain-text server would
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')
        return
      }
      for (const request of requests) {
        received.push(request)
        handle(request, socket)
      }
    })
  })
  return { port: await listen(server), received }
}

async function tcpClient(port: number, timeoutMs = 100, attempts = 2): Promise<StunClient> {
  const client = await StunClient.connectStream(
    { family: 'IPv4', address: '127.0.0.1', port },
    { timeoutMs, attempts }
  )
  clients.push(client)
  return client
}

const transactionOf = (request: Uint8Array): Uint8Array => request.slice(8, 20)

describe('StunClient over TCP', () => {
  test('a Binding sent once, its answer taken in two pieces, after an answer to another transaction', async () => {
    const server = await tcpServer((request, socket) => {
      const answer = response(transactionOf(request))
      socket.write(Buffer.concat([response(), answer.subarray(0, 9)]))
      setTimeout(() => socket.write(answer.subarray(9)), 20)
    })
    const client = await tcpClient(server.port)
    expect(client.protocol).toBe('tcp')
    const { mapped } = await stunBinding(client)
    expect(mapped).toEqual({ family: 'IPv4', address: '203.0.113.5', port: 40123 })
    // and a second transaction on the same connection
    await stunBinding(client)
    expect(server.received).toHaveLength(2)
    expect(client.localAddress()).toMatchObject({ family: 'IPv4', address: '127.0.0.1' })
  })

  test('an answer that is not STUN ends the wait at once; so does the server closing; silence is "no answer", after one send', async () => {
    const http = await tcpServer((_, socket) => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'))
    let started = Date.now()
    const notStun = await stunBinding(await tcpClient(http.port, 2000)).catch((e: unknown) => e)
    expect(notStun).toBeInstanceOf(StunDecodeError)
    expect((notStun as Error).message).toBe('not STUN: it starts with "HTTP/1.1 400 Bad Request"')
    expect(Date.now() - started).toBeLessThan(1000)

    const closing = await tcpServer((_, socket) => socket.end())
    const closed = await stunBinding(await tcpClient(closing.port, 2000)).catch((e: unknown) => e)
    expect(closed).toBeInstanceOf(StunConnectionError)
    expect(closed).toMatchObject({ reason: 'closed', message: 'the server closed the connection' })

    const silent = await tcpServer(() => {})
    started = Date.now()
    const timeout = await stunBinding(await tcpClient(silent.port, 100, 2)).catch((e: unknown) => e)
    expect(timeout).toBeInstanceOf(StunTimeoutError)
    expect((timeout as Error).message).toBe('no answer in 0.2 s')
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect(silent.received).toHaveLength(1)
  })
})

describe('checkIceTarget over TCP and TLS: what failed, and what to do', () => {
  const fast = { timeoutMs: 100, attempts: 2 }
  let dir: string | undefined
  afterAll(async () => {
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  test('a TCP port nobody listens on: connection refused', async () => {
    const port = await listen(createServer())
    await new Promise(resolve => servers.pop()?.close(resolve))
    expect(await checkIceTarget({ url: `turn:127.0.0.1:${port}?transport=tcp` }, fast)).toMatchObject({
      status: 'failed',
      message: `connection refused by 127.0.0.1:${port}: nothing listens on TCP port ${port}`,
      hint: expect.stringContaining('start the STUN/TURN server (coturn)') as string,
      details: { transport: 'tcp' }
    })
  })

  test('STUN over TLS to a port without TLS: the handshake failed, the port does not speak TLS', async () => {
    const server = await tcpServer(() => {})
    expect(await checkIceTarget({ url: `stuns:127.0.0.1:${server.port}` }, fast)).toMatchObject({
      status: 'failed',
      message: `TLS handshake with 127.0.0.1:${server.port} failed: the port does not speak TLS`,
      hint: expect.stringContaining('use turn:…?transport=tcp') as string
    })
  })

  test('a connection that stays silent, one closed unanswered, one answered with TLS: each said as it is', async () => {
    const silent = await tcpServer(() => {})
    expect(await checkIceTarget({ url: `turn:127.0.0.1:${silent.port}?transport=tcp` }, fast)).toMatchObject({
      status: 'failed',
      message: `no answer in 0.2 s over TCP: 127.0.0.1:${silent.port} took the connection, but sent nothing back`
    })
    const closing = await tcpServer((_, socket) => socket.end())
    expect(await checkIceTarget({ url: `turn:127.0.0.1:${closing.port}?transport=tcp` }, fast)).toMatchObject(
      {
        status: 'failed',
        message: 'the server closed the connection (no answer came)'
      }
    )
    // a TLS alert, as a TLS-only port answers bytes that are no ClientHello
    const tls = await tcpServer((_, socket) =>
      socket.end(Buffer.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46))
    )
    expect(await checkIceTarget({ url: `turn:127.0.0.1:${tls.port}?transport=tcp` }, fast)).toMatchObject({
      status: 'failed',
      message: `the answer over TCP is not STUN: 127.0.0.1:${tls.port} speaks TLS`,
      hint: expect.stringMatching(
        new RegExp(`^use turns:127\\.0\\.0\\.1:${tls.port} for a TLS port`)
      ) as string
    })
  })

  test('a certificate nobody vouches for: a TLS error naming the host, whatever SNI said', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-doctor-stream-'))
    const certificate = await selfSignedCertificate(dir)
    const sni: string[] = []
    const server = createTlsServer(
      {
        cert: certificate.cert,
        key: await readFile(certificate.keyFile, 'utf8'),
        SNICallback: (name, done) => {
          sni.push(name)
          done(null)
        }
      },
      socket => socket.destroy()
    )
    server.on('tlsClientError', () => {})
    const port = await listen(server)
    expect(await checkIceTarget({ url: `turns:127.0.0.1:${port}` }, fast)).toMatchObject({
      status: 'failed',
      message: `TLS: the certificate of 127.0.0.1:${port} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)`,
      hint: expect.stringContaining('NODE_EXTRA_CA_CERTS') as string,
      details: { transport: 'tls' }
    })
    // a name: sent as SNI and looked for in the certificate (which is not trusted here either)
    const byName = await checkIceTarget(
      { url: `turns:turn.example:${port}` },
      { ...fast, resolve: async () => await Promise.resolve({ address: '127.0.0.1', family: 4 }) }
    )
    expect(byName.message).toBe(
      `TLS: the certificate of turn.example:${port} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)`
    )
    // SNI carries names only: none for the IP address
    expect(sni).toEqual(['turn.example'])
  })
})
