import { z } from '../zod.ts'
import { MAX_LIMIT } from '../catalog/catalog.ts'
import { LIMITS, PACKAGE_ID } from '../package/schema.ts'

/** Request/response protocol: ranked search, or every version of one id. */
export const SEARCH_PROTOCOL = '/p2p-marketplace/search/1.0.0'
/** Request/response protocol: records a peer has that we lack, by cursor. */
export const SYNC_PROTOCOL = '/p2p-marketplace/sync/1.0.0'

export const PROTOCOL_LIMITS = {
  maxRequestBytes: 8 * 1024,
  maxResponseBytes: 2 * 1024 * 1024,
  maxInboundStreams: 16,
  syncPageSize: 100,
  gossipMessageBytes: LIMITS.recordBytes + 1024
} as const

/** A search query as the API and the search protocol accept it. */
export const searchQuerySchema = z.strictObject({
  text: z
    .string({ error: 'text must be a string' })
    .max(256, { error: 'text must be at most 256 characters' }),
  categories: z
    .array(z.string().max(32), { error: 'categories must be an array of strings' })
    .max(10)
    .optional(),
  tags: z.array(z.string().max(64), { error: 'tags must be an array of strings' }).max(10).optional(),
  limit: z
    .number()
    .int()
    .min(0)
    .max(MAX_LIMIT, { error: `limit must be at most ${MAX_LIMIT}` })
    .optional(),
  offset: z.number().int().min(0).optional()
})

/** Every request of the search and sync protocols (PROTOCOL.md §6). */
export const requestSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('search'),
    query: searchQuerySchema,
    traceparent: z.string().max(128).optional()
  }),
  z.object({
    type: z.literal('versions'),
    id: z.string().regex(PACKAGE_ID),
    traceparent: z.string().max(128).optional()
  }),
  z.object({
    type: z.literal('sync'),
    cursor: z.number().int().min(0),
    limit: z.number().int().min(1).max(PROTOCOL_LIMITS.syncPageSize),
    traceparent: z.string().max(128).optional()
  })
])

export const recordsAnswerSchema = z.object({ records: z.array(z.unknown()).max(MAX_LIMIT * 10) })
export const syncAnswerSchema = z.object({
  records: z.array(z.unknown()).max(PROTOCOL_LIMITS.syncPageSize),
  next: z.number().int().min(0),
  done: z.boolean(),
  epoch: z.string().max(64)
})
