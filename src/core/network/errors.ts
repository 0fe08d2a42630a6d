/* The named errors of the network layer: relays, direct upgrades and liveness. */

/** A configured relay address lacks `/p2p/<peer id>`: without it no connection can be told to be the relay's. */
export class InvalidRelayAddressError extends Error {
  readonly addr: string
  constructor(addr: string) {
    super(`relay address ${addr} has no /p2p/<peer id>`)
    this.name = 'InvalidRelayAddressError'
    this.addr = addr
  }
}

/**
 * A direct dial ended in a connection that is not direct WebRTC: libp2p handed back an existing
 * relayed connection (dial error class `not-direct`); the pair is dialled again later.
 */
export class NotDirectError extends Error {
  /** The address of the connection the dial returned. */
  readonly remoteAddr: string
  constructor(remoteAddr: string) {
    super(`dial returned a ${remoteAddr} connection, not a direct one`)
    this.name = 'NotDirectError'
    this.remoteAddr = remoteAddr
  }
}

/** A ping's echo differs from the bytes sent: the peer (or the path) corrupts data. */
export class PingMismatchError extends Error {
  constructor() {
    super('the ping came back different')
    this.name = 'PingMismatchError'
  }
}
