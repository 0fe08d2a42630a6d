/** A configuration value is wrong; the message names it and says why. */
export class InvalidRelayConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidRelayConfigError'
  }
}
