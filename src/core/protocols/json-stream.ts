import { TimeoutError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { fromString, toString } from 'uint8arrays'
import { ProtocolError } from './errors.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

export interface JsonProtocolLimits {
  /** Largest request (bytes of the JSON message, its length prefix not counted); larger ones are answered `too-large`. */
  maxRequestBytes: number
  /** Largest answer (bytes); a larger one is replaced by a `too-large` error. */
  maxResponseBytes: number
  /** Concurrent inbound streams per connection. */
  maxInboundStreams: number
}

/** How long an inbound stream has for its request and answer, ms. */
export const STREAM_TIMEOUT_MS = 30_000

/** Errors of `lpStream` for a length prefix past `maxDataLength` (the length, or the prefix itself). */
const TOO_LONG = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError'])

/**
 * Sends one length-prefixed JSON request on a new stream and reads one
 * length-prefixed JSON answer. An `{ error: { code, message } }` answer
 * rejects with `ProtocolError`.
 */
export async function requestJson(
  libp2p: Pick<Libp2p, 'dialProtocol'>,
  peer: PeerId,
  protocol: string,
  body: unknown,
  options: { signal: AbortSignal; maxResponseBytes: number }
): Promise<unknown> {
  const stream = await libp2p.dialProtocol(peer, protocol, {
    signal: options.signal,
    runOnLimitedConnection: true
  })
  try {
    const lp = lpStream(stream, { maxDataLength: options.maxResponseBytes })
    await lp.write(fromString(JSON.stringify(body)), { signal: options.signal })
    const answer = JSON.parse(toString((await lp.read({ signal: options.signal })).subarray())) as unknown
    // the answer is read: a close that fails (the peer reset first) loses nothing
    await stream.close({ signal: options.signal }).catch(() => {})
    if (typeof answer === 'object' && answer != null && 'error' in answer) {
      const error = (answer as { error: { code?: unknown; message?: unknown } }).error
      throw new ProtocolError(
        typeof error.code === 'string' ? error.code : 'error',
        typeof error.message === 'string' ? error.message : 'the peer refused the request'
      )
    }
    return answer
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/**
 * Serves a JSON request/response protocol: one request per stream, answered
 * by `handler`. A request past `maxRequestBytes` is answered `too-large`
 * (the handler answers fields past theirs so), one that cannot be read or is not JSON
 * `bad-request`, and a handler that throws `ProtocolError` its code (any other
 * error `internal`): an `{ error }` answer instead of a reset. A stream whose
 * request has not come within {@link STREAM_TIMEOUT_MS} is reset, unanswered.
 */
export async function handleJson(
  libp2p: Pick<Libp2p, 'handle'>,
  protocol: string,
  limits: JsonProtocolLimits,
  handler: (request: unknown, from: PeerId) => Promise<unknown>
): Promise<void> {
  await libp2p.handle(
    protocol,
    async (stream, connection) => {
      const lp = lpStream(stream, { maxDataLength: limits.maxRequestBytes })
      const signal = AbortSignal.timeout(STREAM_TIMEOUT_MS)
      let answer: unknown
      try {
        const request = await readRequest(lp, limits, signal)
        answer = await handler(request, connection.remotePeer)
      } catch (err) {
        answer = {
          error:
            err instanceof ProtocolError
              ? { code: err.code, message: err.message }
              : { code: 'internal', message: 'the peer failed to answer' }
        }
      }
      if (signal.aborted) {
        // the request did not arrive in time (a peer holding streams open): no answer, a reset
        stream.abort(new TimeoutError(`no request within ${STREAM_TIMEOUT_MS} ms`))
        return
      }
      let bytes = fromString(JSON.stringify(answer))
      if (bytes.byteLength > limits.maxResponseBytes) {
        bytes = fromString(
          JSON.stringify({
            error: {
              code: 'too-large',
              message: 'the answer exceeds the protocol limit; ask for fewer results'
            }
          })
        )
      }
      await lp.write(bytes, { signal })
      await stream.close({ signal })
    },
    { maxInboundStreams: limits.maxInboundStreams, runOnLimitedConnection: true }
  )
}

/** Reads and parses the one request of a stream; throws `ProtocolError` `too-large` or `bad-request`. */
async function readRequest(
  lp: ReturnType<typeof lpStream>,
  limits: JsonProtocolLimits,
  signal: AbortSignal
): Promise<unknown> {
  let bytes: Uint8Array
  try {
    bytes = (await lp.read({ signal })).subarray()
  } catch (err) {
    if (TOO_LONG.has((err as Error).name)) {
      throw new ProtocolError(
        'too-large',
        `the request is over ${limits.maxRequestBytes} bytes (the JSON message, its length prefix not counted); send a smaller one`
      )
    }
    throw new ProtocolError('bad-request', `the request could not be read: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(toString(bytes))
  } catch (err) {
    throw new ProtocolError('bad-request', `the request is not JSON: ${(err as Error).message}`)
  }
}
