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
