/* The named errors of package content. */

/** Content over the limit this node takes (`maxContentBytes`); nothing of it is kept. */
export class ContentTooLargeError extends Error {
  readonly limit: number
  constructor(limit: number, size?: number) {
    super(
      size != null
        ? `the content is ${size} bytes; this node takes at most ${limit}`
        : `the content is over ${limit} bytes, the most this node takes`
    )
    this.name = 'ContentTooLargeError'
    this.limit = limit
  }
}

/** A package without content, or content no peer served in time. */
export class ContentNotFoundError extends Error {
  /** Peers asked for it (those speaking Bitswap while the fetch ran). */
  readonly peersAsked: string[]
  /** Peers that sent blocks never asked for while the fetch ran: altered content, most likely. */
  readonly corruptedBy: string[]
  constructor(message: string, peersAsked: string[] = [], corruptedBy: string[] = []) {
    super(message)
    this.name = 'ContentNotFoundError'
    this.peersAsked = peersAsked
    this.corruptedBy = corruptedBy
  }
}

/**
 * Content that is not what its signed record says: another size than the record's. Blocks
 * themselves are checked against their CID as they arrive, so a wrong block is never taken (its
 * sender is blamed: `UnwantedBlockError`).
 */
export class ContentMismatchError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ContentMismatchError'
  }
}

/**
 * A peer sent blocks this node never asked for. Bitswap names a block by the hash of its bytes,
 * so an altered block arrives under a name nobody asked for and is never taken; its sender is
 * blamed with this error (and loses reputation).
 */
export class UnwantedBlockError extends Error {
  readonly blocks: number
  constructor(blocks: number) {
    super(`sent ${blocks} block(s) this node never asked for (altered or unsolicited)`)
    this.name = 'UnwantedBlockError'
    this.blocks = blocks
  }
}
