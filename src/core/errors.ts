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

/** An operation was attempted on a node that has been stopped. */
export class NodeStoppedError extends Error {
  constructor(message = 'The marketplace node has been stopped') {
    super(message)
    this.name = 'NodeStoppedError'
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
