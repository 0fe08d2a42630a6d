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
  constructor(message: string, peersAsked: string[] = []) {
    super(message)
    this.name = 'ContentNotFoundError'
    this.peersAsked = peersAsked
  }
}

/**
 * Content that is not what its signed record says: another size than the record's. Blocks
 * themselves are checked against their CID as they arrive, so a wrong block is never taken.
 */
export class ContentMismatchError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ContentMismatchError'
  }
}
