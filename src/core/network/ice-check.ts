import type { RuntimeConfig } from '../config.ts'
import type { AbortOptions } from '@libp2p/interface'

/** One `icecandidateerror` of the check: a STUN/TURN server that answered with an error, or not at all. */
export interface IceCheckError {
  /** The server's URL, as the browser reports it (e.g. `turn:turn.example.com:3478?transport=udp`). */
  url?: string
  /** STUN error code (401 Unauthorized, 438 Stale Nonce, …) or 701 (no answer). */
  code: number
  text: string
}

/**
 * What the ICE self-check found out about the configured STUN/TURN servers. `stun` and `turn`
 * say `none` while `state` is `checking`.
 */
export interface IceCheck {
  state: 'checking' | 'done'
  /** `ok`: a server-reflexive (`srflx`) candidate was gathered; `failed`: `stun:` URLs are configured but none was. */
  stun: 'ok' | 'failed' | 'none'
  /**
   * `ok`: a TURN `relay` candidate was gathered; `auth-failed`: a TURN server refused the
   * credentials; `unreachable`: `turn:` URLs are configured but neither happened.
   */
  turn: 'ok' | 'auth-failed' | 'unreachable' | 'none'
  /** Types of the candidates gathered (`host`, `srflx`, `relay`, …), each once. */
  candidateTypes: string[]
  errors: IceCheckError[]
  /** One line a person understands, e.g. "STUN and TURN work". */
  summary: string
}

export type IceServer = RuntimeConfig['iceServers'][number]

/** The part of `RTCPeerConnection` the check uses. */
export interface IceCheckPeerConnection {
  readonly iceGatheringState: string
  createDataChannel: (label: string) => unknown
  createOffer: () => Promise<{ type: RTCSdpType; sdp?: string }>
  setLocalDescription: (description: { type: RTCSdpType; sdp?: string }) => Promise<void>
  addEventListener: (type: string, listener: (evt: Event) => void) => void
  close: () => void
}

export type IceCheckPeerConnectionConstructor = new (configuration: {
  iceServers: IceServer[]
  iceTransportPolicy: 'all'
}) => IceCheckPeerConnection

export interface IceCheckInit extends AbortOptions {
  /** How long (ms) gathering may take before the check judges what it has. @default 10000 */
  timeoutMs?: number
  /** @default globalThis.RTCPeerConnection */
  peerConnection?: IceCheckPeerConnectionConstructor
}

/** The check of a node that has started it and not heard back yet. */
export const ICE_CHECKING: IceCheck = Object.freeze({
  state: 'checking',
  stun: 'none',
  turn: 'none',
  candidateTypes: [],
  errors: [],
  summary: 'checking the STUN/TURN servers'
})

/** The browser's `RTCPeerConnection`; `undefined` in Node, where the check is skipped. */
export function platformPeerConnection(): IceCheckPeerConnectionConstructor | undefined {
  return (globalThis as { RTCPeerConnection?: IceCheckPeerConnectionConstructor }).RTCPeerConnection
}

/** Whether the check found something wrong (a server that does not work), as opposed to `ok` or `none`. */
export function iceCheckFailed(check: IceCheck): boolean {
  return (
    check.state === 'done' &&
    (check.stun === 'failed' || check.turn === 'auth-failed' || check.turn === 'unreachable')
  )
}

/** The error by which a TURN server refused our credentials, if one did. */
export function turnAuthError(errors: readonly IceCheckError[]): IceCheckError | undefined {
  return errors.find(
    e =>
      (e.url == null || isTurnUrl(e.url)) &&
      (e.code === 401 ||
        ((e.code === 403 || e.code === 438) && /auth|credential|nonce|unauthori[sz]ed/i.test(e.text)))
  )
}

/** Judges what a gathering produced: which servers work, and one line saying so. */
export function judgeIceCheck(
  iceServers: readonly IceServer[],
  candidateTypes: readonly string[],
  errors: readonly IceCheckError[]
): IceCheck {
  const urls = iceServers.flatMap(s => (Array.isArray(s.urls) ? s.urls : [s.urls]))
  const stunUrls = urls.filter(u => /^stuns?:/i.test(u))
  const turnUrls = urls.filter(isTurnUrl)
  const authError = turnAuthError(errors)
  const stun = candidateTypes.includes('srflx') ? 'ok' : stunUrls.length > 0 ? 'failed' : 'none'
  const turn = candidateTypes.includes('relay')
    ? 'ok'
    : authError != null
      ? 'auth-failed'
      : turnUrls.length > 0
        ? 'unreachable'
        : 'none'
  const problems: string[] = []
  const strictNats = 'tabs behind strict NATs cannot connect directly'
  if (turn === 'auth-failed' && authError != null) {
    problems.push(
      `TURN authentication failed (${errorText(authError)}) at ${authError.url ?? turnUrls.join(', ')}: ${strictNats}`
    )
  } else if (turn === 'unreachable') {
    const err = errors.find(e => e.url != null && isTurnUrl(e.url))
    problems.push(
      err != null
        ? `TURN server unreachable (${errorText(err)}) at ${err.url ?? ''}: ${strictNats}`
        : `TURN server gave no relay address (${turnUrls.join(', ')}): ${strictNats}`
    )
  }
  if (stun === 'failed') {
    const err = errors.find(e => e.url != null && /^stuns?:/i.test(e.url))
    const where = err != null ? `(${errorText(err)}) at ${err.url ?? ''}` : `(${stunUrls.join(', ')})`
    problems.push(
      `STUN server gave no public address ${where}: tabs on different networks may not connect directly`
    )
  }
  let summary: string
  if (problems.length > 0) summary = problems.join('; ')
  else if (stun === 'ok' && turn === 'ok') summary = 'STUN and TURN work'
  else if (stun === 'ok') summary = 'STUN works (no TURN server configured)'
  else if (turn === 'ok') summary = 'TURN works'
  else summary = 'no STUN or TURN URL configured'
  return { state: 'done', stun, turn, candidateTypes: [...candidateTypes], errors: [...errors], summary }
}

/**
 * Checks the ICE servers the way a WebRTC dial would use them: a peer connection with a data
 * channel gathers candidates for an offer, until gathering completes or `timeoutMs` passes,
 * and the candidates and candidate errors are judged ({@link judgeIceCheck}). Nothing is sent
 * to any peer. `undefined` where there is no `RTCPeerConnection` (Node).
 */
export async function checkIceServers(
  iceServers: IceServer[],
  init: IceCheckInit = {}
): Promise<IceCheck | undefined> {
  const PeerConnection = init.peerConnection ?? platformPeerConnection()
  if (PeerConnection == null) return undefined
  const candidateTypes = new Set<string>()
  const errors: IceCheckError[] = []
  const pc = new PeerConnection({ iceServers, iceTransportPolicy: 'all' })
  try {
    const gathered = new Promise<void>(resolve => {
      pc.addEventListener('icecandidate', evt => {
        const candidate = (evt as RTCPeerConnectionIceEvent).candidate
        // a null candidate marks the end of gathering
        if (candidate == null) resolve()
        const type = candidate?.type ?? / typ (\w+)/.exec(candidate?.candidate ?? '')?.[1]
        if (type != null) candidateTypes.add(type)
      })
      pc.addEventListener('icecandidateerror', evt => {
        const e = evt as RTCPeerConnectionIceErrorEvent
        const error = { ...(e.url ? { url: e.url } : {}), code: e.errorCode, text: e.errorText ?? '' }
        // a server is reported once per local address; once is enough here
        if (!errors.some(o => o.url === error.url && o.code === error.code) && errors.length < 20)
          errors.push(error)
      })
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve()
      })
    })
    pc.createDataChannel('ice-check')
    await pc.setLocalDescription(await pc.createOffer())
    const signals = [
      AbortSignal.timeout(init.timeoutMs ?? 10_000),
      ...(init.signal != null ? [init.signal] : [])
    ]
    const stop = AbortSignal.any(signals)
    await Promise.race([
      gathered,
      new Promise<void>(resolve => {
        if (stop.aborted) resolve()
        stop.addEventListener('abort', () => resolve(), { once: true })
      })
    ])
  } finally {
    pc.close()
  }
  return judgeIceCheck(iceServers, [...candidateTypes], errors)
}

function isTurnUrl(url: string): boolean {
  return /^turns?:/i.test(url)
}

function errorText(err: IceCheckError): string {
  return err.text !== '' ? `${err.code} ${err.text}` : String(err.code)
}

export interface IceSelfCheckInit extends Omit<IceCheckInit, 'signal'> {
  /** Called when `result` changes: a check starts or ends. */
  onChange: () => void
  /** Where a check that failed unexpectedly is reported. */
  onError: (err: unknown) => void
}

/**
 * A node's own ICE check: runs {@link checkIceServers} in the background (never delaying
 * anything) and keeps the latest result. A second `run` (a re-fetched config) replaces a
 * check still running.
 */
export class IceSelfCheck {
  /** The latest check, `undefined` until one started (never without ICE servers or outside a browser). */
  result?: IceCheck
  private readonly init: IceSelfCheckInit
  private controller?: AbortController

  constructor(init: IceSelfCheckInit) {
    this.init = init
  }

  run(iceServers: IceServer[]): void {
    this.controller?.abort()
    if (iceServers.length === 0 || (this.init.peerConnection ?? platformPeerConnection()) == null) return
    const controller = new AbortController()
    this.controller = controller
    this.result = ICE_CHECKING
    this.init.onChange()
    checkIceServers(iceServers, { ...this.init, signal: controller.signal })
      .then(result => {
        if (controller.signal.aborted || result == null) return
        this.result = result
        this.init.onChange()
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return
        delete this.result
        this.init.onChange()
        this.init.onError(err)
      })
  }

  stop(): void {
    this.controller?.abort()
  }
}
