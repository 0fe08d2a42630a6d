/**
 * Where a `StunClient`'s messages go: a connected UDP socket, or a TCP or TLS stream
 * (RFC 8489 §6.2). The client sees whole messages either way.
 */
import { createSocket } from 'node:dgram'
import { connect as tcpConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { StunConnectionError, seconds } from './errors.ts'
import { MAX_MESSAGE_BYTES } from './stun-message.ts'
import { StunStreamDecoder } from './stun-stream.ts'
import type { TransportAddress } from './stun-message.ts'
import type { Socket as UdpSocket } from 'node:dgram'
import type { Socket as TcpSocket } from 'node:net'

export type StunProtocol = 'udp' | 'tcp' | 'tls'

/** What a transport tells its client. */
export interface StunTransportSink {
  /** The bytes of one whole message (a datagram, or one cut off the stream), not yet decoded. */
  message: (bytes: Uint8Array) => void
  /** A datagram that cannot be an answer was dropped, for this reason. */
  invalid: (reason: string) => void
  /** The host refused the UDP port (ICMP port unreachable). */
  refused: () => void
  /** The stream broke (closed, reset, or not STUN): no answer can come on it any more. */
  failed: (err: Error) => void
}

export interface StunTransport {
  readonly protocol: StunProtocol
  /** Starts passing what arrives to `sink`. */
  listen: (sink: StunTransportSink) => void
  send: (bytes: Uint8Array) => Promise<void>
  localAddress: () => TransportAddress
  close: () => void
}

/** A UDP socket connected to `server`. */
export async function openUdp(server: TransportAddress): Promise<StunTransport> {
  const socket = createSocket({ type: server.family === 'IPv6' ? 'udp6' : 'udp4' })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.connect(server.port, server.address, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return udpTransport(socket)
}

function udpTransport(socket: UdpSocket): StunTransport {
  return {
    protocol: 'udp',
    listen: sink => {
      socket.on('message', (datagram: Buffer) => {
        if (datagram.length > MAX_MESSAGE_BYTES) {
          sink.invalid(`a ${datagram.length}-byte datagram, longer than any answer`)
        } else sink.message(new Uint8Array(datagram))
      })
      socket.on('error', (err: NodeJS.ErrnoException) => {
        // an ICMP port unreachable reported on the connected socket: nothing listens there (yet)
        if (err.code === 'ECONNREFUSED') sink.refused()
      })
    },
    send: async bytes =>
      await new Promise<void>((resolve, reject) =>
        socket.send(bytes, err => {
          const code = (err as NodeJS.ErrnoException | null | undefined)?.code
          if (err == null || code === 'ECONNREFUSED') resolve()
          else reject(err)
        })
      ),
    localAddress: () => addressOf(socket.address()),
    close: () => {
      try {
        socket.close()
      } catch {
        // closed already
      }
    }
  }
}

export interface StreamInit {
  /** TLS, verifying the server's certificate against Node's CAs (and `NODE_EXTRA_CA_CERTS`). */
  tls?: {
    /** The name sent as SNI and looked for in the certificate; without it, the IP address is. */
    servername?: string
  }
  /** How long the TCP connection, then the TLS handshake, may each take (ms). */
  timeoutMs: number
  signal?: AbortSignal
}

/**
 * A TCP connection to `server`, with TLS on top when asked. Rejects with the socket's error
 * (`ECONNREFUSED`, a certificate error such as `DEPTH_ZERO_SELF_SIGNED_CERT` or
 * `ERR_TLS_CERT_ALTNAME_INVALID`, …), or with {@link StunConnectionError} when either step
 * takes longer than `timeoutMs`.
 */
export async function openStream(server: TransportAddress, init: StreamInit): Promise<StunTransport> {
  init.signal?.throwIfAborted()
  const where =
    server.family === 'IPv6' ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`
  const socket =
    init.tls != null
      ? tlsConnect({
          host: server.address,
          port: server.port,
          ...(init.tls.servername != null ? { servername: init.tls.servername } : {})
        })
      : tcpConnect({ host: server.address, port: server.port })
  const tls = init.tls != null
  await new Promise<void>((resolve, reject) => {
    let connected = false
    const fail = (err: Error): void => {
      cleanup()
      // a TLS socket may report a second error as it goes: it must not be unhandled
      socket.on('error', () => {})
      socket.destroy()
      reject(err)
    }
    const onError = (err: Error): void => fail(err)
    const onAbort = (): void => fail(init.signal?.reason as Error)
    const onConnect = (): void => {
      connected = true
      if (!tls) done()
      else restart()
    }
    const done = (): void => {
      cleanup()
      resolve()
    }
    const onTimeout = (): void => {
      const waited = seconds(init.timeoutMs)
      fail(
        connected
          ? new StunConnectionError(
              'handshake',
              `the TLS handshake with ${where} did not finish in ${waited}`,
              init.timeoutMs
            )
          : new StunConnectionError('connect', `no TCP connection to ${where} in ${waited}`, init.timeoutMs)
      )
    }
    let timer = setTimeout(onTimeout, init.timeoutMs)
    const restart = (): void => {
      clearTimeout(timer)
      timer = setTimeout(onTimeout, init.timeoutMs)
    }
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('error', onError)
      socket.off('connect', onConnect)
      socket.off('secureConnect', done)
      init.signal?.removeEventListener('abort', onAbort)
    }
    socket.once('error', onError)
    socket.once('connect', onConnect)
    if (tls) socket.once('secureConnect', done)
    init.signal?.addEventListener('abort', onAbort, { once: true })
  })
  return streamTransport(socket, tls ? 'tls' : 'tcp')
}

function streamTransport(socket: TcpSocket, protocol: 'tcp' | 'tls'): StunTransport {
  let closing = false
  return {
    protocol,
    listen: sink => {
      const decoder = new StunStreamDecoder()
      let failed = false
      const fail = (err: Error): void => {
        if (failed || closing) return
        failed = true
        sink.failed(err)
      }
      socket.on('data', (chunk: Buffer) => {
        let messages: Uint8Array[]
        try {
          messages = decoder.push(chunk)
        } catch (err) {
          // thrown in a socket event: nothing may escape; what follows cannot be framed
          fail(err as Error)
          socket.destroy()
          return
        }
        for (const message of messages) sink.message(message)
      })
      socket.on('error', fail)
      socket.on('end', () => {
        const cut =
          decoder.pending > 0 ? ` in the middle of a message (${decoder.pending} bytes of it came)` : ''
        fail(new StunConnectionError('closed', `the server closed the connection${cut}`))
      })
      socket.on('close', () => fail(new StunConnectionError('closed', 'the connection closed')))
    },
    send: async bytes =>
      await new Promise<void>((resolve, reject) =>
        socket.write(bytes, err => (err == null ? resolve() : reject(err)))
      ),
    localAddress: () =>
      addressOf({
        address: socket.localAddress ?? '',
        port: socket.localPort ?? 0,
        family: socket.localFamily ?? ''
      }),
    close: () => {
      closing = true
      socket.destroy()
    }
  }
}

function addressOf({
  address,
  family,
  port
}: {
  address: string
  family: string
  port: number
}): TransportAddress {
  return { address, port, family: family === 'IPv6' ? 'IPv6' : 'IPv4' }
}
