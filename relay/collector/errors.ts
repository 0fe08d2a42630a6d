/** The body is not an OTLP traces request (JSON or protobuf); the message says where or why. Answered with 400. */
export class OtlpFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OtlpFormatError'
  }
}

/**
 * Spans the collector accepted could not be put in the encoding the upstream takes (an OTLP/JSON
 * body holding what protobuf cannot): they are stored, not forwarded, and the relay logs why.
 */
export class OtlpEncodingError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OtlpEncodingError'
  }
}

/** The body is not what its Content-Encoding says (e.g. not valid gzip). Answered with 400. */
export class InvalidEncodingError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidEncodingError'
  }
}

/** The body is over a size or complexity bound (see `limits.ts`). Answered with 413. */
export class BodyTooLargeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BodyTooLargeError'
  }
}

/**
 * The collector has more work queued than it accepts. Answered with 503 and Retry-After, which
 * OTLP exporters honour before retrying (OTLP/HTTP throttling).
 */
export class CollectorBusyError extends Error {
  /** Seconds after which a retry is worth it. */
  readonly retryAfterSeconds: number
  constructor(message: string, retryAfterSeconds = 1) {
    super(message)
    this.name = 'CollectorBusyError'
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** The client closed the connection before its body was complete: nothing of it is stored. */
export class ClientAbortedError extends Error {
  constructor() {
    super('the client went away while sending')
    this.name = 'ClientAbortedError'
  }
}

/** The parser's worker thread exited: the body it was on fails with this (500), those waiting get 503. */
export class ParserExitedError extends Error {
  /** The worker's exit code. */
  readonly exitCode: number
  constructor(exitCode: number) {
    super(`the parser exited with ${exitCode}`)
    this.name = 'ParserExitedError'
    this.exitCode = exitCode
  }
}

/** An upstream header (OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TRACES_HEADERS) cannot be sent; the message names it, never its value. */
export class InvalidUpstreamHeaderError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidUpstreamHeaderError'
  }
}

/** A request the collector refuses for what it asks (method, path, headers, parameters); answered with `status`. */
export class HttpError extends Error {
  /** The HTTP status answered: 400, 404, 405, 415, or 502/504 for an upstream that failed a forwarded request. */
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.name = 'HttpError'
    this.status = status
  }
}
