/**
 * Every bound of the embedded collector, in one place. Anyone on the network
 * can post to `/v1/traces`, so each resource a request can make the relay
 * spend (memory, disk, event-loop time, sockets) has a cap here; README's
 * "Collector limits" table lists them.
 */

const KiB = 1024
const MiB = 1024 * KiB

/** What one `POST /v1/traces` may carry. */
export interface RequestLimits {
  /**
   * Bytes of a request body, as sent and after gzip: inflating stops as soon
   * as it passes this (413), so a small gzip bomb costs at most this much.
   * @default 4 MiB
   */
  maxBodyBytes: number
  /**
   * JSON objects and arrays in a body, counted before parsing; beyond, 413.
   * What a parse costs grows with them, not with bytes: 4 MiB of `{},` are
   * 1.4 million objects, 85 MB of heap and 1.2–2.8 s of `JSON.parse` here,
   * while 4 MiB of real spans hold ~250 000. @default 400000
   */
  maxJsonContainers: number
  /** Spans per request; spans beyond are rejected (partial success). @default 2048 */
  maxSpansPerRequest: number
  /** Attributes per span, resource and event; the rest are dropped (partial success warning). @default 128 */
  maxAttributes: number
  /** Characters of a string attribute value, and items of an array value; longer ones are cut. @default 4096 */
  maxAttributeValueLength: number
  /** Events per span and links per span; the rest are dropped. @default 128 */
  maxEventsPerSpan: number
  /** Bytes of one span as stored (JSON, its resource included); a bigger span is rejected. @default 64 KiB */
  maxSpanBytes: number
  /**
   * Bytes of stored spans per request: each span carries a copy of its
   * resource, so a request could otherwise store far more than it sent.
   * Spans beyond are rejected. @default 8 MiB
   */
  maxRequestStoredBytes: number
}

/**
 * How much of the relay the body parser may use (it runs in a worker thread).
 * Its heap is bounded by `maxBodyBytes` and `maxJsonContainers`, not by a
 * worker heap limit: a worker reaching `resourceLimits` aborted the whole
 * relay here (Node 24, exit 134) instead of ending alone.
 */
export interface ParserLimits {
  /** Requests waiting for the parser; beyond, 503 with Retry-After. @default 8 */
  maxPending: number
  /** Time one body may take to parse; beyond, the worker is replaced and the request gets 413. @default 5000 */
  maxParseMs: number
}

/** What the span store keeps, in memory and in `DATA_DIR/traces.ndjson`. */
export interface StoreLimits {
  /** Spans kept; the oldest traces go first. @default 20000 */
  maxSpans: number
  /** Bytes kept (spans as JSON); the oldest traces go first. @default 32 MiB */
  maxBytes: number
  /** Spans of one trace; later spans of a full trace are rejected, other traces stay. @default 1000 */
  maxSpansPerTrace: number
  /** Bytes of one trace. @default 4 MiB */
  maxTraceBytes: number
  /**
   * Size `traces.ndjson` never passes: an append that would pass it
   * compacts the file to what is kept instead (the rewrite, up to `maxBytes`,
   * sits beside it until renamed); start-up reads at most `maxBytes` from
   * its newest end. @default 64 MiB
   */
  maxFileBytes: number
}

/** Live stream (`GET /api/traces/stream`) bounds. */
export interface StreamLimits {
  /** Open streams; beyond, 503 with Retry-After. @default 64 */
  maxClients: number
  /** Bytes waiting in one client's socket buffer; a client still over this at the next event is dropped. @default 1 MiB */
  maxBufferedBytes: number
  /**
   * Bytes of spans in one event: a bigger batch is announced with the spans
   * that fit (the query API has the rest), so one request costs at most
   * `maxClients` × this in socket writes. @default 256 KiB
   */
  maxEventBytes: number
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxBodyBytes: 4 * MiB,
  maxJsonContainers: 400_000,
  maxSpansPerRequest: 2048,
  maxAttributes: 128,
  maxAttributeValueLength: 4096,
  maxEventsPerSpan: 128,
  maxSpanBytes: 64 * KiB,
  maxRequestStoredBytes: 8 * MiB
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = {
  maxPending: 8,
  maxParseMs: 5000
}

export const DEFAULT_STORE_LIMITS: StoreLimits = {
  maxSpans: 20_000,
  maxBytes: 32 * MiB,
  maxSpansPerTrace: 1000,
  maxTraceBytes: 4 * MiB,
  maxFileBytes: 64 * MiB
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxClients: 64,
  maxBufferedBytes: 1 * MiB,
  maxEventBytes: 256 * KiB
}
