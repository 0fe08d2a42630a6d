import { StunDecodeError, StunTimeoutError, StunTransactionPendingError } from './errors.ts'
import { StunClass, decodeStunMessage, encodeStunMessage } from './stun-message.ts'
import { openStream, openUdp } from './stun-transport.ts'
import type { EncodeOptions, StunMessage, StunMessageInit, TransportAddress } from './stun-message.ts'
import type { StunProtocol, StunTransport } from './stun-transport.ts'

export interface StunClientInit {
  /** How long one send waits for its answer (ms). @default 3000 */
  timeoutMs?: number
  /** How many times a request is sent before the client gives up (over UDP). @default 3 */
  attempts?: number
}

export interface StunStreamInit extends StunClientInit {
  /**
   * TLS (`stuns:`/`turns:`), the certificate verified as usual: against Node's CAs and
   * `NODE_EXTRA_CA_CERTS`, for `servername` (also sent as SNI) or else the IP address.
   * Without it, plain TCP.
   */
  tls?: { servername?: string }
  signal?: AbortSignal
}

interface Pending {
  transactionId: Uint8Array
  method: number
  resolve: (message: StunMessage) => void
  reject: (err: Error) => void
}

/**
 * STUN transactions with one server over one transport, so a TURN allocation and its refresh
 * share the 5-tuple (or the connection) the server keys them by. Only a well-formed response (or
 * error response) of the same method and transaction id settles a request.
 *
 * Over UDP (RFC 8489 §6.2.1) a request is sent up to `attempts` times, `timeoutMs` apart, and
 * anything else that arrives is dropped: a server that sends only that is reported as not
 * answering. Over TCP or TLS (§6.2.2) a request is sent once and waits as long as all UDP
 * attempts would; bytes that are not STUN, or the server closing the connection, end the wait
 * at once, since nothing after them can be read.
 */
export class StunClient {
  readonly server: TransportAddress
  readonly protocol: StunProtocol
  private readonly transport: StunTransport
  private readonly timeoutMs: number
  private readonly attempts: number
  private pending?: Pending
  /** Why the last message that was dropped was not a valid answer. */
  private lastInvalid?: string
  private refused = false
  /** Why the stream can carry no more answers. */
  private broken?: Error

  private constructor(server: TransportAddress, transport: StunTransport, init: StunClientInit) {
    this.server = server
    this.protocol = transport.protocol
    this.transport = transport
    this.timeoutMs = init.timeoutMs ?? 3000
    this.attempts = init.attempts ?? 3
    transport.listen({
      message: bytes => this.receive(bytes),
      invalid: reason => (this.lastInvalid = reason),
      refused: () => (this.refused = true),
      failed: err => {
        this.broken = err
        this.pending?.reject(err)
      }
    })
  }

  /** Opens a UDP socket connected to `server`. */
  static async connect(server: TransportAddress, init: StunClientInit = {}): Promise<StunClient> {
    return new StunClient(server, await openUdp(server), init)
  }

  /**
   * Opens a TCP connection to `server`, with TLS when `init.tls` is given. Connecting, then the
   * handshake, may each take as long as one request waits in all (`timeoutMs` × `attempts`).
   * Rejects with the socket's error (`ECONNREFUSED`, a certificate error, …) or
   * `StunConnectionError` when a step takes longer.
   */
  static async connectStream(server: TransportAddress, init: StunStreamInit = {}): Promise<StunClient> {
    const transport = await openStream(server, {
      timeoutMs: (init.timeoutMs ?? 3000) * (init.attempts ?? 3),
      ...(init.tls != null ? { tls: init.tls } : {}),
      ...(init.signal != null ? { signal: init.signal } : {})
    })
    return new StunClient(server, transport, init)
  }

  /** The local address the socket sends from. */
  localAddress(): TransportAddress {
    return this.transport.localAddress()
  }

  /**
   * Sends a request and resolves with its answer (a success or an error response: the caller
   * reads `cls`), or rejects with {@link StunTimeoutError} once every attempt went unanswered;
   * over TCP or TLS also with why the stream broke (`StunDecodeError` for bytes that are not
   * STUN, `StunConnectionError` or a socket error for a closed or reset connection); at once
   * with `StunTransactionPendingError` while an earlier request still waits.
   */
  async request(
    init: StunMessageInit,
    encode: EncodeOptions = {},
    options: { signal?: AbortSignal } = {}
  ): Promise<StunMessage> {
    if (this.pending != null) throw new StunTransactionPendingError()
    const bytes = encodeStunMessage(init, encode)
    this.lastInvalid = undefined
    this.refused = false
    options.signal?.throwIfAborted()
    if (this.broken != null) throw this.broken
    const answered = new Promise<StunMessage>((resolve, reject) => {
      this.pending = { transactionId: init.transactionId, method: init.method, resolve, reject }
    })
    // a stream may break while the request is being written, before the race below listens;
    // nothing is lost: the race still awaits `answered` and rethrows why it failed
    answered.catch(() => {})
    // a stream delivers or fails by itself: no retransmissions (RFC 8489 §6.2.2)
    const sends = this.protocol === 'udp' ? this.attempts : 1
    const waitMs = this.protocol === 'udp' ? this.timeoutMs : this.timeoutMs * this.attempts
    try {
      for (let attempt = 0; attempt < sends; attempt++) {
        // a retransmission is the same bytes, with the same transaction id (RFC 8489 §6.2.1)
        await this.transport.send(bytes)
        const timer = wait(waitMs, options.signal)
        try {
          const answer = await Promise.race([answered, timer.elapsed])
          if (answer != null) return answer
        } finally {
          // a timer left running would hold the doctor's process open for up to 9 s
          timer.cancel()
        }
      }
      throw new StunTimeoutError(this.timeoutMs * this.attempts, this.refused, this.lastInvalid)
    } catch (err) {
      // a write that failed because the stream broke: say why it broke
      throw this.broken ?? err
    } finally {
      this.pending = undefined
    }
  }

  close(): void {
    this.transport.close()
  }

  private receive(bytes: Uint8Array): void {
    const pending = this.pending
    if (pending == null) return
    let message: StunMessage
    try {
      message = decodeStunMessage(bytes)
    } catch (err) {
      // thrown in a socket event: nothing may escape, whatever arrived
      const reason = err instanceof StunDecodeError ? err.message : String(err)
      if (this.protocol === 'udp') this.lastInvalid = reason
      else pending.reject(new StunDecodeError(reason))
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

/** `elapsed` resolves with `undefined` after `ms`, or rejects when `signal` aborts; `cancel` stops it. */
function wait(ms: number, signal?: AbortSignal): { elapsed: Promise<undefined>; cancel: () => void } {
  let cancel = (): void => {}
  const elapsed = new Promise<undefined>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(undefined)
    }, ms)
    cancel = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    if (signal?.aborted === true) onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
  })
  return { elapsed, cancel }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
