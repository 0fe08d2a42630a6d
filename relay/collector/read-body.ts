import { PassThrough } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { BodyTooLargeError, ClientAbortedError, InvalidEncodingError } from './errors.ts'
import type { IncomingMessage } from 'node:http'
import type { Transform } from 'node:stream'

/**
 * Reads a request body, inflating gzip as it arrives, and stops as soon as the
 * bytes received or the bytes inflated pass `max` (BodyTooLargeError): a gzip
 * bomb costs at most `max` bytes of memory, never its inflated size. What the
 * client still sends after that is read and discarded, so the 413 reaches it.
 * A client that closes the connection mid-body gets ClientAbortedError.
 */
export async function readBody(req: IncomingMessage, max: number, gzip: boolean): Promise<Buffer> {
  const tooLarge = (): BodyTooLargeError =>
    new BodyTooLargeError(`the body exceeds ${max} bytes${gzip ? ' once decompressed' : ''}`)
  if (Number(req.headers['content-length'] ?? 0) > max) throw tooLarge()
  const decoded: Transform = gzip ? createGunzip() : new PassThrough()
  let received = 0
  const onData = (chunk: Buffer): void => {
    received += chunk.byteLength
    if (received > max) decoded.destroy(tooLarge())
  }
  const onClose = (): void => {
    if (!req.complete) decoded.destroy(new ClientAbortedError())
  }
  req.on('data', onData)
  req.once('close', onClose)
  req.pipe(decoded)
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of decoded as AsyncIterable<Buffer>) {
      size += chunk.byteLength
      if (size > max) throw tooLarge()
      chunks.push(chunk)
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (typeof code === 'string' && code.startsWith('Z_'))
      throw new InvalidEncodingError('the body is not valid gzip')
    throw err
  } finally {
    req.off('data', onData)
    req.off('close', onClose)
    req.unpipe(decoded)
    decoded.destroy()
    // drain what is left unread, so the answer is not lost in a reset connection
    if (!req.complete) req.resume()
  }
  return Buffer.concat(chunks, size)
}
