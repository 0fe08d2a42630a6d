/* The named errors of the marketplace module. */

/**
 * A domain's well-known publisher list (PROTOCOL.md §3) cannot be used: it was not served (an
 * HTTP error status), it is larger than a node reads, or it is not `{ "publishers": [...] }` with
 * at most `MAX_LISTED_PUBLISHERS` Ed25519 peer ids. The message says which, in words shown to
 * users as the reason the domain's records are not proven; the domain's owner fixes the list.
 */
export class NameListError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NameListError'
  }
}
