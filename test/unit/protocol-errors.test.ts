/**
 * Every error answer of the search and sync protocols (PROTOCOL.md §6, "Error answers"), from our
 * node's real handler and framing: which request gets which code, and that an over-limit request
 * is answered `too-large` naming each field and its limit.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { beforeAll, describe, expect, test } from 'vitest'
import { PackageCatalog } from '../../src/core/catalog/catalog.ts'
import { REQUEST_BUDGET } from '../../src/core/marketplace/protocol-handler.ts'
import { SYNC_PROTOCOL, requestOverLimit } from '../../src/core/protocols/messages.ts'
import { protocolServer } from '../helpers/protocol-server.ts'

type Ask = Awaited<ReturnType<typeof protocolServer>>['ask']
let ask: Ask

beforeAll(async () => {
  const catalog = new PackageCatalog(new MemoryDatastore())
  await catalog.load()
  ask = (await protocolServer(catalog)).ask
})

const error = (code: string, message: string | RegExp): unknown => ({
  error: {
    code,
    message: typeof message === 'string' ? message : (expect.stringMatching(message) as unknown)
  }
})
const search = (query: Record<string, unknown>): unknown => ({
  type: 'search',
  query: { text: '', ...query }
})
const many = (n: number, length = 2): string[] =>
  Array.from({ length: n }, (_, i) => `${i}`.padStart(length, 'x'))

describe('too-large', () => {
  test('a request over 8 KiB', async () => {
    const nineKiB = new TextEncoder().encode(
      JSON.stringify({ type: 'search', query: { text: 'x'.repeat(9200) } })
    )
    expect(await ask(nineKiB)).toEqual(
      error(
        'too-large',
        /^the request is over 8192 bytes \(the JSON message, its length prefix not counted\)/
      )
    )
    // a length prefix of three bytes (16 KiB or more) as well
    expect(await ask(new Uint8Array(20_000).fill(0x20))).toEqual(error('too-large', /over 8192 bytes/))
  })

  test.each([
    [search({ tags: many(11) }), 'query.tags: at most 10 tags, got 11'],
    [search({ categories: many(11) }), 'query.categories: at most 10 categories, got 11'],
    [search({ tags: ['ok', 'x'.repeat(65)] }), 'query.tags.1: at most 64 characters, got 65'],
    [search({ categories: ['x'.repeat(33)] }), 'query.categories.0: at most 32 characters, got 33'],
    [search({ text: 'x'.repeat(257) }), 'query.text: at most 256 characters, got 257'],
    [search({ limit: 101 }), 'query.limit: at most 100, got 101'],
    [{ type: 'versions', id: `a/${'b'.repeat(127)}` }, 'id: at most 128 characters, got 129'],
    [{ type: 'sync', cursor: 0, limit: 101 }, 'limit: at most 100, got 101'],
    [
      { type: 'sync', cursor: 0, limit: 1, traceparent: 'x'.repeat(129) },
      'traceparent: at most 128 characters, got 129'
    ]
  ])('%j: %s', async (request, message) => {
    expect(await ask(request)).toEqual(error('too-large', message))
  })

  test('every field over its limit is named, in one answer', async () => {
    expect(await ask(search({ text: 'x'.repeat(300), tags: many(11) }))).toEqual(
      error('too-large', 'query.text: at most 256 characters, got 300; query.tags: at most 10 tags, got 11')
    )
    expect(requestOverLimit(search({ text: 'x'.repeat(256), tags: many(10, 64), limit: 100 }))).toEqual([])
  })
})

describe('bad-request', () => {
  test.each([
    ['not JSON', 'not json', /^the request is not JSON: /],
    ['an unknown type', { type: 'nope' }, /^type: /],
    ['a missing query', { type: 'search' }, /^query: /],
    ['an unknown query field', search({ sort: 'asc' }), /^query: /],
    ['not an object', 42, 'the request must be a JSON object whose "type" is "search", "versions" or "sync"'],
    ['a limit of 0', { type: 'sync', cursor: 0, limit: 0 }, 'limit: limit must be at least 1'],
    ['a fractional cursor', { type: 'sync', cursor: 1.5, limit: 1 }, 'cursor: cursor must be a whole number'],
    ['tags not strings', search({ tags: [1] }), 'query.tags.0: each tag must be a string'],
    ['an id not an id', { type: 'versions', id: 'NoSlash' }, /^id: id must be "namespace\/name"/]
  ])('%s', async (_what, request, message) => {
    const bytes = typeof request === 'string' ? new TextEncoder().encode(request) : request
    expect(await ask(bytes)).toEqual(error('bad-request', message))
  })
})

test('rate-limited: past 200 points a second from one peer, with the wait in the message', async () => {
  const from = peerIdFromString('12D3KooWQK1wnefoLrcVHbbnf5tLzbopUd3K3bFAoJpA7YJgL5pV')
  const searches = REQUEST_BUDGET.pointsPerSecond / REQUEST_BUDGET.search
  const answers = await Promise.all(
    Array.from({ length: searches + 1 }, async () => await ask(search({}), { from }))
  )
  expect(answers.slice(0, searches)).toEqual(Array.from({ length: searches }, () => ({ records: [] })))
  expect(answers[searches]).toEqual(
    error('rate-limited', /^more than 200 request points a second from this peer .*; ask again in \d+ ms$/)
  )
})

test('internal, and an answer over 2 MiB replaced by too-large', async () => {
  const big = { description: 'x'.repeat(16_000) }
  const catalog = {
    search: () => {
      throw new Error('index broken')
    },
    listVersions: () => Array.from({ length: 200 }, (_, i) => `1.0.${i}`),
    get: () => big,
    since: () => ({ records: [], next: 0, done: true }),
    epoch: 'e'
  } as unknown as PackageCatalog
  const server = await protocolServer(catalog)
  expect(await server.ask(search({}))).toEqual(error('internal', 'the peer failed to answer'))
  expect(await server.ask({ type: 'versions', id: 'a/b' })).toEqual(
    error('too-large', 'the answer exceeds the protocol limit; ask for fewer results')
  )
  // both protocol ids take every request type
  expect(await server.ask({ type: 'sync', cursor: 0, limit: 1 }, { protocol: SYNC_PROTOCOL })).toEqual({
    records: [],
    next: 0,
    done: true,
    epoch: 'e'
  })
})
