/** Bytes that are not a valid STUN message (RFC 8489 §5, §14): the message says which rule they break. */
export class StunDecodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StunDecodeError'
  }
}

/** A STUN/TURN server did not answer a request, after every retransmission. */
export class StunTimeoutError extends Error {
  /** How long the client waited in all (ms). */
  readonly waitedMs: number
  /** The host refused the port (ICMP port unreachable) at least once: nothing listens there. */
  readonly refused: boolean
  /** Why datagrams that did come were not taken as the answer (not STUN, a wrong length, …). */
  readonly invalidAnswer?: string

  constructor(waitedMs: number, refused: boolean, invalidAnswer?: string) {
    super(
      `no answer in ${seconds(waitedMs)}${refused ? ' (the port is closed)' : ''}${invalidAnswer != null ? ` (only an invalid one: ${invalidAnswer})` : ''}`
    )
    this.name = 'StunTimeoutError'
    this.waitedMs = waitedMs
    this.refused = refused
    if (invalidAnswer != null) this.invalidAnswer = invalidAnswer
  }
}

/**
 * A TCP or TLS connection to a STUN/TURN server that did not open in time, or that the server
 * closed before the answer came.
 */
export class StunConnectionError extends Error {
  /** `connect`: no TCP connection; `handshake`: connected, but TLS did not finish; `closed`: closed by the server. */
  readonly reason: 'connect' | 'handshake' | 'closed'
  /** How long the client waited (ms), for `connect` and `handshake`. */
  readonly waitedMs?: number

  constructor(reason: StunConnectionError['reason'], message: string, waitedMs?: number) {
    super(message)
    this.name = 'StunConnectionError'
    this.reason = reason
    if (waitedMs != null) this.waitedMs = waitedMs
  }
}

/** A STUN/TURN server answered, but not with what the protocol requires (a missing or bad attribute). */
export class StunProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StunProtocolError'
  }
}

/** `runDoctor` was given something that is not an http(s) URL. */
export class InvalidDoctorUrlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidDoctorUrlError'
  }
}

/** A STUN/TURN host name did not resolve in time; `code` is what getaddrinfo says of a name server that did not answer. */
export class DnsTimeoutError extends Error {
  readonly code = 'EAI_AGAIN'
  constructor(host: string) {
    super(`DNS lookup of ${host} timed out`)
    this.name = 'DnsTimeoutError'
  }
}

/**
 * A STUN/TURN URL the relay's validator let through that the doctor cannot take apart into
 * scheme, host, port and transport (the two disagree: a bug to report).
 */
export class InvalidIceUrlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidIceUrlError'
  }
}

/** `StunClient.request` was called while another request of the same client waits for its answer. */
export class StunTransactionPendingError extends Error {
  constructor() {
    super('one STUN transaction at a time')
    this.name = 'StunTransactionPendingError'
  }
}

/** A relay multiaddr that cannot be probed as a WebSocket: it names no host or no TCP port. */
export class InvalidRelayAddrError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidRelayAddrError'
  }
}

/** `/config.json` is larger than `MAX_CONFIG_BYTES` (by its Content-Length, or as it arrives). */
export class ConfigTooLargeError extends Error {
  constructor() {
    super('the response is too large')
    this.name = 'ConfigTooLargeError'
  }
}

/** `9 s`, `0.3 s`: whole seconds when whole. */
export function seconds(ms: number): string {
  const s = ms / 1000
  return `${Number.isInteger(s) || s >= 10 ? Math.round(s) : s.toFixed(1)} s`
}
