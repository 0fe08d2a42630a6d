/** The runtime configuration could not be fetched or is not valid. */
export class InvalidConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidConfigError'
  }
}

/** The stored identity key exists but cannot be decoded. */
export class InvalidIdentityError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidIdentityError'
  }
}

/**
 * The page is served over https but every relay address is a plain `ws://` one to another
 * machine: the browser would block each dial as mixed content, so the node does not start.
 */
export class InsecureRelayError extends Error {
  /** The relay addresses the page cannot use. */
  readonly addrs: string[]

  constructor(addrs: string[]) {
    const shown = addrs.map(a => a.replace(/\/p2p\/[^/]+$/, '')).join(', ')
    super(
      `this page is https but the relay offers only ws:// addresses (${shown}), which browsers block as mixed content: give the relay TLS (TLS_CERT/TLS_KEY) or announce wss addresses (ANNOUNCE_ADDRS)`
    )
    this.name = 'InsecureRelayError'
    this.addrs = addrs
  }
}

/** An operation was attempted on a node that has been stopped. */
export class NodeStoppedError extends Error {
  constructor(message = 'The marketplace node has been stopped') {
    super(message)
    this.name = 'NodeStoppedError'
  }
}

/** `publish` on a node that has no publisher key (a relay's marketplace service). */
export class NotAPublisherError extends Error {
  constructor(message = 'this node has no publisher key: it cannot publish') {
    super(message)
    this.name = 'NotAPublisherError'
  }
}

/**
 * A one-line description of anything thrown, including the DOM `ErrorEvent`s
 * that WebSockets reject with (whose `String()` is "[object ErrorEvent]").
 */
export function describeError(err: unknown): string {
  if (err instanceof Error && err.message !== '') {
    const cause = err.cause != null ? ` (${describeError(err.cause)})` : ''
    return `${err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}${cause}`
  }
  if (typeof err === 'object' && err != null) {
    const e = err as { message?: unknown; error?: unknown; type?: unknown; constructor?: { name?: string } }
    if (typeof e.message === 'string' && e.message !== '') return e.message
    if (e.error instanceof Error && e.error.message !== '') return describeError(e.error)
    if (e.constructor?.name === 'ErrorEvent' || e.type === 'error') {
      // browsers and undici say nothing more about a failed WebSocket, on purpose
      return 'WebSocket error (connection refused or closed)'
    }
    if (err instanceof Error) return err.name
  }
  return String(err)
}

/** Text that is not an identity file (`importIdentity`), or one whose parts disagree. */
export class InvalidIdentityFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidIdentityFileError'
  }
}

/** A passphrase that does not open an identity file, or is too short to export one with. */
export class WrongPassphraseError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'WrongPassphraseError'
  }
}

/** A node on a temporary key asked to publish without `temporaryKey: true`. */
export class TemporaryKeyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TemporaryKeyError'
  }
}
