import { lpStream } from '@libp2p/utils'
import { fromString, toString } from 'uint8arrays'
import { ProtocolError } from './errors.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

export interface JsonProtocolLimits {
  maxRequestBytes: number
  maxResponseBytes: number
  /** Concurrent inbound streams per connection. */
  maxInboundStreams: number
}

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
 * by `handler`; a request that is too large or not JSON, or a handler that
 * throws `ProtocolError`, gets an `{ error }` answer instead of a reset.
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
      const signal = AbortSignal.timeout(30_000)
      let answer: unknown
      try {
        let request: unknown
        try {
          request = JSON.parse(toString((await lp.read({ signal })).subarray()))
        } catch (err) {
          throw new ProtocolError(
            'bad-request',
            `request is not a JSON document within ${limits.maxRequestBytes} bytes: ${(err as Error).message}`
          )
        }
        answer = await handler(request, connection.remotePeer)
      } catch (err) {
        answer = {
          error:
            err instanceof ProtocolError
              ? { code: err.code, message: err.message }
              : { code: 'internal', message: 'the peer failed to answer' }
        }
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
