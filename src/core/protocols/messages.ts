import { z } from '../zod.ts'
import { MAX_LIMIT } from '../catalog/catalog.ts'
import { LIMITS, PACKAGE_ID } from '../package/schema.ts'

/** Request/response protocol: ranked search, or every version of one id. */
export const SEARCH_PROTOCOL = '/p2p-marketplace/search/1.0.0'
/** Request/response protocol: records a peer has that we lack, by cursor. */
export const SYNC_PROTOCOL = '/p2p-marketplace/sync/1.0.0'

/**
 * Limits of the fields of a request (PROTOCOL.md §6), in characters (UTF-16 code units) or items:
 * a request past any of them is answered `too-large`, naming each field and its limit.
 */
export const REQUEST_FIELD_LIMITS = {
  textLength: 256,
  categories: 10,
  categoryLength: 32,
  tags: 10,
  tagLength: 64,
  /** A search's `limit`. */
  searchLimit: MAX_LIMIT,
  /** A sync page's `limit`: records per page. */
  syncLimit: 100,
  idLength: LIMITS.idLength,
  traceparentLength: 128
} as const

export const PROTOCOL_LIMITS = {
  maxRequestBytes: 8 * 1024,
  maxResponseBytes: 2 * 1024 * 1024,
  maxInboundStreams: 16,
  syncPageSize: REQUEST_FIELD_LIMITS.syncLimit,
  gossipMessageBytes: LIMITS.recordBytes + 1024
} as const

const L = REQUEST_FIELD_LIMITS

/** A search query as the API and the search protocol accept it. */
export const searchQuerySchema = z.strictObject({
  text: z
    .string({ error: 'text must be a string' })
    .max(L.textLength, { error: `text must be at most ${L.textLength} characters` }),
  categories: z
    .array(
      z
        .string({ error: 'each category must be a string' })
        .max(L.categoryLength, { error: `each category must be at most ${L.categoryLength} characters` }),
      { error: 'categories must be an array of strings' }
    )
    .max(L.categories, { error: `at most ${L.categories} categories` })
    .optional(),
  tags: z
    .array(
      z
        .string({ error: 'each tag must be a string' })
        .max(L.tagLength, { error: `each tag must be at most ${L.tagLength} characters` }),
      { error: 'tags must be an array of strings' }
    )
    .max(L.tags, { error: `at most ${L.tags} tags` })
    .optional(),
  limit: z
    .number({ error: 'limit must be a number' })
    .int({ error: 'limit must be a whole number' })
    .min(0, { error: 'limit must not be negative' })
    .max(L.searchLimit, { error: `limit must be at most ${L.searchLimit}` })
    .optional(),
  offset: z
    .number({ error: 'offset must be a number' })
    .int({ error: 'offset must be a whole number' })
    .min(0, { error: 'offset must not be negative' })
    .optional()
})

const traceparent = z
  .string({ error: 'traceparent must be a string' })
  .max(L.traceparentLength, { error: `traceparent must be at most ${L.traceparentLength} characters` })
  .optional()

/** Every request of the search and sync protocols (PROTOCOL.md §6). */
export const requestSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('search'), query: searchQuerySchema, traceparent }),
    z.object({
      type: z.literal('versions'),
      id: z
        .string({ error: 'id must be a package id' })
        .max(L.idLength, { error: `id must be at most ${L.idLength} characters` })
        .regex(PACKAGE_ID, {
          error: 'id must be "namespace/name" in lowercase letters, digits, ".", "_" or "-"'
        }),
      traceparent
    }),
    z.object({
      type: z.literal('sync'),
      cursor: z
        .number({ error: 'cursor must be a number' })
        .int({ error: 'cursor must be a whole number' })
        .min(0, { error: 'cursor must not be negative' }),
      limit: z
        .number({ error: 'limit must be a number' })
        .int({ error: 'limit must be a whole number' })
        .min(1, { error: 'limit must be at least 1' })
        .max(L.syncLimit, { error: `limit must be at most ${L.syncLimit}` }),
      traceparent
    })
  ],
  {
    error: issue =>
      // not an object (zod reports `invalid_type`); an unknown `type` keeps zod's own message
      issue.code === 'invalid_union'
        ? undefined
        : 'the request must be a JSON object whose "type" is "search", "versions" or "sync"'
  }
)

export const recordsAnswerSchema = z.object({ records: z.array(z.unknown()).max(MAX_LIMIT * 10) })
export const syncAnswerSchema = z.object({
  records: z.array(z.unknown()).max(PROTOCOL_LIMITS.syncPageSize),
  next: z.number().int().min(0),
  done: z.boolean(),
  epoch: z.string().max(64)
})

/**
 * The fields of a request past {@link REQUEST_FIELD_LIMITS}, one message each naming the field,
 * its limit and what came (`query.tags: at most 10 tags, got 11`); empty when none is. Only
 * sizes are looked at: a request within them is validated by {@link requestSchema}.
 */
export function requestOverLimit(request: unknown): string[] {
  if (!isObject(request)) return []
  const over: string[] = []
  const chars = (field: string, value: unknown, max: number): void => {
    if (typeof value === 'string' && value.length > max)
      over.push(`${field}: at most ${max} characters, got ${value.length}`)
  }
  const list = (field: string, value: unknown, max: number, itemMax: number): void => {
    if (!Array.isArray(value)) return
    if (value.length > max)
      over.push(`${field}: at most ${max} ${field.split('.').at(-1)}, got ${value.length}`)
    const long = value.findIndex(item => typeof item === 'string' && item.length > itemMax)
    if (long !== -1) chars(`${field}.${long}`, value[long], itemMax)
  }
  const number = (field: string, value: unknown, max: number): void => {
    if (typeof value === 'number' && value > max) over.push(`${field}: at most ${max}, got ${value}`)
  }
  chars('traceparent', request.traceparent, L.traceparentLength)
  if (request.type === 'search' && isObject(request.query)) {
    const { query } = request
    chars('query.text', query.text, L.textLength)
    list('query.categories', query.categories, L.categories, L.categoryLength)
    list('query.tags', query.tags, L.tags, L.tagLength)
    number('query.limit', query.limit, L.searchLimit)
  } else if (request.type === 'versions') {
    chars('id', request.id, L.idLength)
  } else if (request.type === 'sync') {
    number('limit', request.limit, L.syncLimit)
  }
  return over
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value != null && !Array.isArray(value)
}
