/** One problem with one field of a manifest or record. */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `version` or `dependencies.acme/util`. */
  field: string
  message: string
}

/** The manifest given to `publish()` is not valid; `issues` names each field and why. */
export class InvalidManifestError extends Error {
  readonly issues: FieldIssue[]
  constructor(issues: FieldIssue[]) {
    super(`invalid manifest: ${issues.map(i => `${i.field}: ${i.message}`).join('; ')}`)
    this.name = 'InvalidManifestError'
    this.issues = issues
  }
}

/**
 * A record from the network (or storage) fails validation: schema, size, a
 * `publishedAt` ahead of this node's clock (`time`), signature, a DHT key it
 * does not match (`key`) or a DHT value older than the one held (`stale`).
 */
export class InvalidRecordError extends Error {
  readonly reason: 'schema' | 'size' | 'time' | 'signature' | 'encoding' | 'key' | 'stale'
  constructor(reason: InvalidRecordError['reason'], message: string) {
    super(message)
    this.name = 'InvalidRecordError'
    this.reason = reason
  }
}

/** The namespace of the id belongs to another publisher key. */
export class NamespaceOwnedError extends Error {
  readonly namespace: string
  readonly owner: string
  constructor(namespace: string, owner: string) {
    super(`namespace "${namespace}" belongs to publisher ${owner}; publish under a namespace of your own`)
    this.name = 'NamespaceOwnedError'
    this.namespace = namespace
    this.owner = owner
  }
}

/** The version does not move forward: it exists already, or a higher one was published before it. */
export class VersionConflictError extends Error {
  readonly id: string
  readonly version: string
  constructor(id: string, version: string, message: string) {
    super(message)
    this.name = 'VersionConflictError'
    this.id = id
    this.version = version
  }
}

/**
 * The catalog has no room for the record: it holds its most records (`catalog-full`), or the
 * record's publisher holds its most (`publisher-quota`). Nothing held is evicted for a newcomer;
 * the sender did nothing wrong (an honest relay serves every record it has), so no one's
 * reputation is lowered for it.
 */
export class CatalogQuotaError extends Error {
  readonly reason: 'catalog-full' | 'publisher-quota'
  constructor(reason: CatalogQuotaError['reason'], message: string) {
    super(message)
    this.name = 'CatalogQuotaError'
    this.reason = reason
  }
}

/**
 * A record in a domain namespace whose publisher the domain does not (or could not be shown to)
 * list at its well-known address (PROTOCOL.md §3, rule 2): `not-listed` (the list was read and
 * does not name the key), `unreachable` (no list could be read: the domain, its TLS, its CORS
 * headers or its answer), `busy` (this node reads at most so many lists a minute; asked again
 * later, the record is checked then) or `no-proofs` (this node reads no lists at all). None of
 * these is the sender's fault for certain (a list changes; a domain is down for one node and not
 * another), so no one's reputation is lowered for it.
 */
export class NameUnprovenError extends Error {
  readonly reason: 'not-listed' | 'unreachable' | 'busy' | 'no-proofs'
  readonly domain: string
  constructor(reason: NameUnprovenError['reason'], domain: string, message: string) {
    super(message)
    this.name = 'NameUnprovenError'
    this.reason = reason
    this.domain = domain
  }
}
