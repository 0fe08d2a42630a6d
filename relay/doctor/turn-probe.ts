/**
 * The two questions the doctor asks a STUN/TURN server: a Binding (what is my public address?)
 * and a TURN allocation (can these credentials get a relayed address?), freed at once.
 */
import { StunProtocolError, StunTimeoutError } from './errors.ts'
import {
  decodeErrorCode,
  decodeMappedAddress,
  decodeText,
  decodeUint32,
  decodeXorAddress,
  requestedTransportUdp,
  textAttribute,
  uint32Attribute
} from './stun-attributes.ts'
import {
  StunAttr,
  StunClass,
  StunMethod,
  getAttribute,
  longTermKey,
  newTransactionId,
  verifyIntegrity
} from './stun-message.ts'
import type { StunClient } from './stun-client.ts'
import type { StunAttribute, StunMessage, TransportAddress } from './stun-message.ts'

export interface ProbeOptions {
  signal?: AbortSignal
}

export interface BindingResult {
  /** The address and port the server saw the request come from. */
  mapped: TransportAddress
  /** From the first send to the answer (ms); includes retransmissions. */
  rttMs: number
}

/** A Binding request; resolves with the server-reflexive address (`XOR-MAPPED-ADDRESS`). */
export async function stunBinding(client: StunClient, options: ProbeOptions = {}): Promise<BindingResult> {
  const started = performance.now()
  const answer = await client.request(
    { method: StunMethod.binding, cls: StunClass.request, transactionId: newTransactionId(), attributes: [] },
    { fingerprint: true },
    options
  )
  const rttMs = performance.now() - started
  if (answer.cls === StunClass.error) {
    const { code, reason } = errorOf(answer)
    throw new StunProtocolError(`the server answered the Binding request with error ${code} ${reason}`)
  }
  return { mapped: mappedAddress(answer), rttMs }
}

export interface TurnCredentials {
  username: string
  password: string
}

/** What a TURN allocation attempt came to. */
export type AllocateResult =
  | {
      outcome: 'allocated'
      relayed: TransportAddress
      mapped?: TransportAddress
      /** Seconds the server granted. */
      lifetime?: number
      realm?: string
      /** `true` once a Refresh with LIFETIME 0 freed the allocation, else why it did not. */
      freed: true | string
    }
  /** The server refused the credentials (401 on the authenticated request, or 441). */
  | { outcome: 'auth-failed'; code: number; reason: string; realm: string }
  /** The server asks for credentials (401) and none were given. */
  | { outcome: 'needs-credentials'; realm: string }
  /** Any other error response (403 Forbidden, 486 Allocation Quota Reached, 508 Insufficient Capacity, …). */
  | { outcome: 'refused'; code: number; reason: string }

/**
 * A TURN allocation over UDP (RFC 8656 §7): Allocate with REQUESTED-TRANSPORT UDP; on 401, again
 * with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY under the long-term key
 * MD5(username:realm:password) (a 438 Stale Nonce is retried once with the new nonce); the
 * success response must carry a valid MESSAGE-INTEGRITY and XOR-RELAYED-ADDRESS. The allocation
 * is then freed by a Refresh with LIFETIME 0, so the check leaves nothing on the server.
 */
export async function turnAllocate(
  client: StunClient,
  credentials: TurnCredentials | undefined,
  options: ProbeOptions = {}
): Promise<AllocateResult> {
  const first = await client.request(
    {
      method: StunMethod.allocate,
      cls: StunClass.request,
      transactionId: newTransactionId(),
      attributes: [requestedTransportUdp()]
    },
    { fingerprint: true },
    options
  )
  if (first.cls === StunClass.success) {
    // a TURN server without authentication: nothing to free it with but the same request
    return { ...allocated(first), freed: await refresh(client, undefined, options) }
  }
  const firstError = errorOf(first)
  if (firstError.code !== 401) return { outcome: 'refused', ...firstError }
  let challenge = challengeOf(first)
  if (credentials == null) return { outcome: 'needs-credentials', realm: challenge.realm }
  const key = longTermKey(credentials.username, challenge.realm, credentials.password)
  for (let attempt = 0; ; attempt++) {
    const auth = authAttributes(credentials.username, challenge)
    const answer = await client.request(
      {
        method: StunMethod.allocate,
        cls: StunClass.request,
        transactionId: newTransactionId(),
        attributes: [requestedTransportUdp(), ...auth]
      },
      { integrityKey: key, fingerprint: true },
      options
    )
    if (answer.cls === StunClass.success) {
      checkIntegrity(answer, key)
      return {
        ...allocated(answer),
        realm: challenge.realm,
        freed: await refresh(client, { username: credentials.username, challenge, key }, options)
      }
    }
    const error = errorOf(answer)
    if (error.code === 438 && attempt === 0) {
      challenge = challengeOf(answer, challenge.realm)
      continue
    }
    if (error.code === 401 || error.code === 441) {
      return { outcome: 'auth-failed', ...error, realm: challenge.realm }
    }
    return { outcome: 'refused', ...error }
  }
}

/** Frees an allocation (Refresh, LIFETIME 0); a stale nonce is retried once. */
async function refresh(
  client: StunClient,
  session: { username: string; challenge: { realm: string; nonce: string }; key: Uint8Array } | undefined,
  options: ProbeOptions
): Promise<true | string> {
  let challenge = session?.challenge
  for (let attempt = 0; attempt < 2; attempt++) {
    const auth = session != null && challenge != null ? authAttributes(session.username, challenge) : []
    let answer: StunMessage
    try {
      answer = await client.request(
        {
          method: StunMethod.refresh,
          cls: StunClass.request,
          transactionId: newTransactionId(),
          attributes: [uint32Attribute(StunAttr.lifetime, 0), ...auth]
        },
        { ...(session != null ? { integrityKey: session.key } : {}), fingerprint: true },
        options
      )
    } catch (err) {
      if (err instanceof StunTimeoutError) return err.message
      throw err
    }
    if (answer.cls === StunClass.success) return true
    const error = errorOf(answer)
    if (error.code === 438 && session != null && attempt === 0) {
      challenge = challengeOf(answer, challenge?.realm)
      continue
    }
    return `${error.code} ${error.reason}`.trim()
  }
  return 'the nonce went stale twice'
}

function authAttributes(username: string, challenge: { realm: string; nonce: string }): StunAttribute[] {
  return [
    textAttribute(StunAttr.username, username),
    textAttribute(StunAttr.realm, challenge.realm),
    textAttribute(StunAttr.nonce, challenge.nonce)
  ]
}

function allocated(answer: StunMessage): Omit<Extract<AllocateResult, { outcome: 'allocated' }>, 'freed'> {
  const relayedValue = getAttribute(answer, StunAttr.xorRelayedAddress)
  if (relayedValue == null)
    throw new StunProtocolError('the Allocate success response has no XOR-RELAYED-ADDRESS')
  const mappedValue = getAttribute(answer, StunAttr.xorMappedAddress)
  const lifetimeValue = getAttribute(answer, StunAttr.lifetime)
  return {
    outcome: 'allocated',
    relayed: decodeXorAddress(relayedValue, answer.transactionId),
    ...(mappedValue != null ? { mapped: decodeXorAddress(mappedValue, answer.transactionId) } : {}),
    ...(lifetimeValue != null ? { lifetime: decodeUint32(StunAttr.lifetime, lifetimeValue) } : {})
  }
}

/** REALM and NONCE of a 401 or 438 answer (the realm of a 438 may be left out: the old one holds). */
function challengeOf(answer: StunMessage, realm?: string): { realm: string; nonce: string } {
  const realmValue = getAttribute(answer, StunAttr.realm)
  const nonceValue = getAttribute(answer, StunAttr.nonce)
  const newRealm = realmValue != null ? decodeText(StunAttr.realm, realmValue) : realm
  if (newRealm == null || nonceValue == null) {
    const { code } = errorOf(answer)
    throw new StunProtocolError(`the server's ${code} answer has no ${newRealm == null ? 'REALM' : 'NONCE'}`)
  }
  return { realm: newRealm, nonce: decodeText(StunAttr.nonce, nonceValue) }
}

function errorOf(answer: StunMessage): { code: number; reason: string } {
  const value = getAttribute(answer, StunAttr.errorCode)
  if (value == null) throw new StunProtocolError('an error response without ERROR-CODE')
  return decodeErrorCode(value)
}

function mappedAddress(answer: StunMessage): TransportAddress {
  const xor = getAttribute(answer, StunAttr.xorMappedAddress)
  if (xor != null) return decodeXorAddress(xor, answer.transactionId)
  const plain = getAttribute(answer, StunAttr.mappedAddress)
  if (plain != null) return decodeMappedAddress(plain)
  throw new StunProtocolError('the Binding success response has no XOR-MAPPED-ADDRESS')
}

/** An answer to an authenticated request must prove it knows the key (RFC 8489 §9.2.5). */
function checkIntegrity(answer: StunMessage, key: Uint8Array): void {
  const valid = verifyIntegrity(answer, key)
  if (valid === undefined)
    throw new StunProtocolError('the Allocate success response has no MESSAGE-INTEGRITY')
  if (!valid) throw new StunProtocolError("the Allocate success response's MESSAGE-INTEGRITY is wrong")
}
