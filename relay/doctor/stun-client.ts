import { createSocket } from 'node:dgram'
import { StunDecodeError, StunTimeoutError } from './errors.ts'
import { MAX_MESSAGE_BYTES, StunClass, decodeStunMessage, encodeStunMessage } from './stun-message.ts'
import type { EncodeOptions, StunMessage, StunMessageInit, TransportAddress } from './stun-message.ts'
import type { Socket } from 'node:dgram'

export interface StunClientInit {
  /** How long one send waits for its answer (ms). @default 3000 */
  timeoutMs?: number
  /** How many times a request is sent before the client gives up. @default 3 */
  attempts?: number
}

interface Pending {
  transactionId: Uint8Array
  method: number
  resolve: (message: StunMessage) => void
}

/**
 * STUN transactions over one UDP socket connected to one server (RFC 8489 §6.2.1), so a TURN
 * allocation and its refresh share the 5-tuple the server keys them by. Each request is sent
 * up to `attempts` times, `timeoutMs` apart; only a well-formed response (or error response) of
 * the same method and transaction id from the server's address settles it. Anything else is
 * dropped, and a server that sends only that is reported as not answering.
 */
export class StunClient {
  readonly server: TransportAddress
  private readonly socket: Socket
  private readonly timeoutMs: number
  private readonly attempts: number
  private pending?: Pending
  /** Why the last datagram that was dropped was not a valid answer. */
  private lastInvalid?: string
  private refused = false

  private constructor(server: TransportAddress, socket: Socket, init: StunClientInit) {
    this.server = server
    this.socket = socket
    this.timeoutMs = init.timeoutMs ?? 3000
    this.attempts = init.attempts ?? 3
    socket.on('message', (datagram: Buffer) => this.receive(datagram))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // an ICMP port unreachable reported on the connected socket: nothing listens there (yet)
      if (err.code === 'ECONNREFUSED') this.refused = true
    })
  }

  /** Opens a UDP socket connected to `server`. */
  static async connect(server: TransportAddress, init: StunClientInit = {}): Promise<StunClient> {
    const socket = createSocket({ type: server.family === 'IPv6' ? 'udp6' : 'udp4' })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.connect(server.port, server.address, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    return new StunClient(server, socket, init)
  }

  /** The local address the socket sends from. */
  localAddress(): TransportAddress {
    const { address, family, port } = this.socket.address()
    return { address, port, family: family === 'IPv6' ? 'IPv6' : 'IPv4' }
  }

  /**
   * Sends a request and resolves with its answer (a success or an error response: the caller
   * reads `cls`), or rejects with {@link StunTimeoutError} once every attempt went unanswered.
   */
  async request(
    init: StunMessageInit,
    encode: EncodeOptions = {},
    options: { signal?: AbortSignal } = {}
  ): Promise<StunMessage> {
    if (this.pending != null) throw new Error('one STUN transaction at a time')
    const bytes = encodeStunMessage(init, encode)
    this.lastInvalid = undefined
    this.refused = false
    options.signal?.throwIfAborted()
    const answered = new Promise<StunMessage>(resolve => {
      this.pending = { transactionId: init.transactionId, method: init.method, resolve }
    })
    try {
      for (let attempt = 0; attempt < this.attempts; attempt++) {
        // a retransmission is the same bytes, with the same transaction id (RFC 8489 §6.2.1)
        await new Promise<void>((resolve, reject) =>
          this.socket.send(bytes, err => {
            const code = (err as NodeJS.ErrnoException | null | undefined)?.code
            if (err == null || code === 'ECONNREFUSED') resolve()
            else reject(err)
          })
        )
        const answer = await Promise.race([answered, wait(this.timeoutMs, options.signal)])
        if (answer != null) return answer
      }
      throw new StunTimeoutError(this.timeoutMs * this.attempts, this.refused, this.lastInvalid)
    } finally {
      this.pending = undefined
    }
  }

  close(): void {
    try {
      this.socket.close()
    } catch {
      // closed already
    }
  }

  private receive(datagram: Buffer): void {
    const pending = this.pending
    if (pending == null) return
    if (datagram.length > MAX_MESSAGE_BYTES) {
      this.lastInvalid = `a ${datagram.length}-byte datagram, longer than any answer`
      return
    }
    let message: StunMessage
    try {
      message = decodeStunMessage(new Uint8Array(datagram))
    } catch (err) {
      // thrown in a socket event: nothing may escape, whatever arrived
      this.lastInvalid = err instanceof StunDecodeError ? err.message : String(err)
      return
    }
    // an answer to an earlier transaction (a retransmitted request answered twice) is normal
    if (!sameBytes(message.transactionId, pending.transactionId)) return
    if (message.cls !== StunClass.success && message.cls !== StunClass.error) {
      this.lastInvalid = 'a request or indication where a response was due'
      return
    }
    if (message.method !== pending.method) {
      this.lastInvalid = `a response of method 0x${message.method.toString(16)} to a request of method 0x${pending.method.toString(16)}`
      return
    }
    pending.resolve(message)
  }
}

/** Resolves with `undefined` after `ms`, or rejects when `signal` aborts. */
async function wait(ms: number, signal?: AbortSignal): Promise<undefined> {
  return await new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(undefined)
    }, ms)
    if (signal?.aborted === true) onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
