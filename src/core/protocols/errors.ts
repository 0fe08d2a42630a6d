/* The named errors of the request/response protocols (PROTOCOL.md §6). */

/** A request is refused: the answer's `error.code` says why. */
export class ProtocolError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'ProtocolError'
    this.code = code
  }
}

/** A search, `getPackage` or `listVersions` argument is not valid; the message names the field. */
export class InvalidQueryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidQueryError'
  }
}
