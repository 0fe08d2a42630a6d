/* The command-line client's named errors, and the exit code of every named error it can meet. */

/** Bad arguments: an unknown option, a missing or malformed value. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** The manifest file cannot be read or is not JSON (its fields are judged by `InvalidManifestError`). */
export class ManifestFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ManifestFileError'
  }
}

/** The key file cannot be used: readable by others, not a regular file, unreadable. */
export class KeyFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'KeyFileError'
  }
}

/** The output file exists and `--force` was not given. */
export class OutputExistsError extends Error {
  readonly path: string
  constructor(path: string) {
    super(`${path} exists; pass --force to replace it, or -o to write elsewhere`)
    this.name = 'OutputExistsError'
    this.path = path
  }
}

/** No such package, or no such version of it, at the relay, in the DHT or at the peers asked. */
export class PackageNotFoundError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PackageNotFoundError'
  }
}

/** The relay could not be reached, or something the command waited for did not come in time. */
export class NetworkError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'NetworkError'
  }
}

/** Ctrl-C (SIGINT) or SIGTERM: the abort reason of everything the command was doing. */
export class InterruptedError extends Error {
  readonly signal: NodeJS.Signals
  constructor(signal: NodeJS.Signals) {
    super(`interrupted (${signal})`)
    this.name = 'InterruptedError'
    this.signal = signal
  }
}

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  network: 4,
  verification: 5,
  interrupted: 130
} as const

/** Exit codes by `err.name` (the project's errors are told apart by name, never by message). */
const CODES: Record<string, number> = {
  UsageError: EXIT.usage,
  ManifestFileError: EXIT.usage,
  KeyFileError: EXIT.usage,
  OutputExistsError: EXIT.usage,
  InvalidManifestError: EXIT.usage,
  InvalidQueryError: EXIT.usage,
  InvalidIdentityError: EXIT.usage,
  ContentTooLargeError: EXIT.usage,
  NamespaceOwnedError: EXIT.usage,
  VersionConflictError: EXIT.usage,
  PackageNotFoundError: EXIT.notFound,
  ContentNotFoundError: EXIT.notFound,
  NetworkError: EXIT.network,
  InvalidConfigError: EXIT.network,
  InsecureRelayError: EXIT.network,
  InvalidRelayAddressError: EXIT.network,
  TimeoutError: EXIT.network,
  ContentMismatchError: EXIT.verification,
  InvalidRecordError: EXIT.verification,
  NameUnprovenError: EXIT.verification,
  UnwantedBlockError: EXIT.verification,
  NameListError: EXIT.verification,
  InterruptedError: EXIT.interrupted
}

/** The exit code for `err`; 1 for anything unexpected. */
export function exitCodeOf(err: unknown): number {
  const name = err instanceof Error || (typeof err === 'object' && err != null) ? (err as Error).name : ''
  return CODES[name] ?? EXIT.failure
}
