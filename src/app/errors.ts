/* The named errors of the browser app. */

/** The collector could not be reached (`status` 0) or refused the request. */
export class CollectorError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.name = 'CollectorError'
    this.status = status
  }
}
