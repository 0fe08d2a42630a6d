import { describeError } from './errors.ts'

/**
 * Classes of failed direct (WebRTC) dials, each with one known cause; see
 * `docs/direct-mesh.md` for what happens in each and what the node does about it.
 */
export type DialErrorClass =
  | 'no-reservation'
  | 'relay-error'
  | 'timeout'
  | 'stream-closed'
  | 'unexpected-eof'
  | 'stream-reset'
  | 'ice-failed'
  | 'not-direct'
  | 'aborted'
  | 'other'

/** The class of a failed direct dial, from the error libp2p or the WebRTC stack threw. */
export function classifyDialError(err: unknown): DialErrorClass {
  const text = describeError(err)
  const name = err instanceof Error ? err.name : ''
  if (text.includes('NO_RESERVATION')) return 'no-reservation'
  if (/status (MALFORMED_MESSAGE|CONNECTION_FAILED|PERMISSION_DENIED|RESOURCE_LIMIT_EXCEEDED)/.test(text))
    return 'relay-error'
  if (name === 'TimeoutError' || /timed? ?out/i.test(text)) return 'timeout'
  if (name === 'StreamStateError' || text.includes('stream that is closed')) return 'stream-closed'
  if (name === 'UnexpectedEOFError' || text.includes('UnexpectedEOF')) return 'unexpected-eof'
  if (name === 'StreamResetError' || text.includes('StreamResetError')) return 'stream-reset'
  if (/ICE|connection state.*failed|peer connection (failed|closed)/i.test(text)) return 'ice-failed'
  if (text.includes('not a direct one')) return 'not-direct'
  if (name === 'AbortError') return 'aborted'
  return 'other'
}
