import { describeError } from '../errors.ts'
import { turnAuthError } from './ice-check.ts'
import type { IceCheck } from './ice-check.ts'

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
  | 'no-ice-servers'
  | 'turn-auth-failed'
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
  if (name === 'NotDirectError') return 'not-direct'
  if (name === 'AbortError') return 'aborted'
  return 'other'
}

/** What the node knows that can explain a dial that timed out or whose ICE failed. */
export interface DialErrorContext {
  /** How many ICE servers the runtime config gives. */
  iceServerCount: number
  /**
   * Every relay is on this machine, so every peer is too (a relay on a loopback address takes
   * no one else): host candidates connect them, and missing ICE servers explain nothing.
   */
  localOnly: boolean
  /** The node's check of its ICE servers, if it made one. */
  ice?: IceCheck
}

/** A failed dial's class once its known cause is taken into account, and that cause in a few words. */
export interface DialErrorExplanation {
  errorClass: DialErrorClass
  hint: string
}

/**
 * Explains a direct dial that timed out or whose ICE failed, when the node knows why:
 * `no-ice-servers` when the runtime config has none (and the peers are not all on this
 * machine), `turn-auth-failed` when the ICE check saw the TURN server refuse our credentials.
 * `undefined` for other classes, or when nothing explains it.
 */
export function explainDialError(
  errorClass: DialErrorClass,
  context: DialErrorContext
): DialErrorExplanation | undefined {
  if (errorClass !== 'timeout' && errorClass !== 'ice-failed') return undefined
  if (context.iceServerCount === 0 && !context.localOnly) {
    return {
      errorClass: 'no-ice-servers',
      hint: 'no STUN/TURN servers configured: peers on different networks cannot connect directly; see ICE_SERVERS'
    }
  }
  const auth = context.ice?.turn === 'auth-failed' ? turnAuthError(context.ice.errors) : undefined
  if (auth != null) {
    const text = auth.text !== '' ? `${auth.code} ${auth.text}` : String(auth.code)
    return {
      errorClass: 'turn-auth-failed',
      hint: `TURN authentication failed: ${text}${auth.url != null ? ` at ${auth.url}` : ''}`
    }
  }
  return undefined
}
