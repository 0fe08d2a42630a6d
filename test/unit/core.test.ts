import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { Backoff, withTimeout } from '../../src/core/network/backoff.ts'
import { InvalidConfigError, InvalidIdentityError, describeError } from '../../src/core/errors.ts'
import { parseRuntimeConfig } from '../../src/core/config.ts'
import { relayAwareGater } from '../../src/core/network/gater.ts'
import { IDENTITY_KEY, loadOrCreateIdentity } from '../../src/core/identity.ts'
import { ReputationBook, reputationScore } from '../../src/core/marketplace/reputation.ts'

const RELAY = '/ip4/127.0.0.1/tcp/9090/ws/p2p/12D3KooWSAE3WngaHdn7fTp6KUdQviWxs5SAcLULEhyg8WbqzYtX'

describe('runtime config', () => {
  test('a relay document is accepted', () => {
    expect(parseRuntimeConfig({ relays: [RELAY], iceServers: [], version: '1' })).toEqual({
      relays: [RELAY],
      iceServers: [],
      version: '1'
    })
  })
  test.each([
    [null, /JSON object/],
    [{ relays: [] }, /non-empty array/],
    [{ relays: [42] }, /relays\[0\] must be a string/],
    [{ relays: ['/ip4/127.0.0.1/tcp/9090/ws'] }, /no \/p2p\/<peer id>/],
    [{ relays: [RELAY], iceServers: 'stun:x' }, /iceServers/]
  ])('%j is refused', (doc, message) => {
    expect(() => parseRuntimeConfig(doc)).toThrow(InvalidConfigError)
    expect(() => parseRuntimeConfig(doc)).toThrow(message)
  })
})

describe('connection gater', () => {
  const gater = relayAwareGater([multiaddr(RELAY)])
  const deny = (ma: string): boolean | Promise<boolean> | undefined =>
    gater.denyDialMultiaddr?.(multiaddr(ma))
  test('allows the configured relay and circuits through it', () => {
    expect(deny(RELAY)).toBe(false)
    expect(deny(`${RELAY}/p2p-circuit/webrtc/p2p/12D3KooWEo9fsStRdzVna3bRwDp23acmRDqoUCLAua92SSBVbPyq`)).toBe(
      false
    )
  })
  test('keeps the browser policy for everything else', () => {
    expect(deny('/ip4/127.0.0.1/tcp/9999/ws')).toBe(true)
    expect(deny('/ip4/192.168.1.20/tcp/443/wss')).toBe(true)
    expect(deny('/dns4/example.com/tcp/80/ws')).toBe(true)
    expect(deny('/dns4/example.com/tcp/443/wss')).toBe(false)
  })
})

describe('identity', () => {
  test('is created once and then reloaded from the datastore', async () => {
    const datastore = new MemoryDatastore()
    const first = await loadOrCreateIdentity(datastore)
    const second = await loadOrCreateIdentity(datastore)
    expect(second.equals(first)).toBe(true)
    expect(first.type).toBe('Ed25519')
  })
  test('a corrupt stored key is reported, not replaced', async () => {
    const datastore = new MemoryDatastore()
    await datastore.put(IDENTITY_KEY, new Uint8Array([1, 2, 3]))
    await expect(loadOrCreateIdentity(datastore)).rejects.toThrow(InvalidIdentityError)
  })
})

describe('reputation (seed formula)', () => {
  test('a peer with no data scores the success-rate and recency terms only', () => {
    expect(
      reputationScore({ successes: 0, failures: 0, packagesProvided: 0, lastSeen: 1000 }, 1000)
    ).toBeCloseTo(0.6)
  })
  test('fast answers raise it and failures lower it', () => {
    const book = new ReputationBook()
    const start = book.score('p')
    const afterFast = book.recordSuccess('p', 20)
    expect(afterFast).toBeGreaterThan(start)
    const afterFailure = book.recordFailure('p')
    expect(afterFailure).toBeLessThan(afterFast)
    expect(book.get('p').avgResponseMs).toBe(20)
    book.recordSuccess('p', 120)
    expect(book.get('p').avgResponseMs).toBeCloseTo(0.7 * 20 + 0.3 * 120)
  })
  test('persists in the datastore across restarts (reloads)', async () => {
    const datastore = new MemoryDatastore()
    const book = new ReputationBook(datastore)
    book.recordSuccess('fast', 15, 3)
    book.recordFailure('slow')
    await book.flush()
    const reloaded = new ReputationBook(datastore)
    await reloaded.load()
    expect(reloaded.get('fast')).toMatchObject({ successes: 1, avgResponseMs: 15, packagesProvided: 3 })
    expect(reloaded.get('slow').failures).toBe(1)
    expect(reloaded.score('fast')).toBeCloseTo(book.score('fast'))
  })
  test('is capped at 1', () => {
    expect(
      reputationScore({ successes: 10, failures: 0, avgResponseMs: 0, packagesProvided: 50, lastSeen: 0 }, 0)
    ).toBe(1)
  })
})

describe('backoff and timeouts', () => {
  test('backoff doubles up to its cap, with jitter inside [50 %, 100 %]', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 400, jitter: 0.5 })
    const delays = Array.from({ length: 5 }, () => backoff.fail())
    expect(delays[0]).toBeGreaterThanOrEqual(50)
    expect(delays[0]).toBeLessThanOrEqual(100)
    expect(delays[4]).toBeGreaterThanOrEqual(200)
    expect(delays[4]).toBeLessThanOrEqual(400)
    backoff.reset()
    expect(backoff.attempts).toBe(0)
  })
  // time is the subject of these two: a fake clock says exactly when the timeout fires
  afterEach(() => {
    vi.useRealTimers()
  })
  test('withTimeout gives up on work that ignores its signal, at its timeout and not before', async () => {
    vi.useFakeTimers()
    let signal: AbortSignal | undefined
    let outcome: unknown
    const settled = withTimeout(20, async s => {
      signal = s
      return await new Promise(() => {})
    }).catch((err: unknown) => (outcome = err))
    await vi.advanceTimersByTimeAsync(19)
    expect(outcome).toBeUndefined()
    expect(signal?.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await settled
    expect((outcome as Error).name).toBe('TimeoutError')
    expect((outcome as Error).message).toBe('timed out after 20 ms')
    expect(signal?.aborted).toBe(true)
  })
  test('withTimeout never aborts the signal of work that finished', async () => {
    vi.useFakeTimers()
    let signal: AbortSignal | undefined
    await withTimeout(20, s => {
      signal = s
      return Promise.resolve(1)
    })
    // its timer is gone, so no amount of time aborts the finished work's signal
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(signal?.aborted).toBe(false)
  })
})

describe('describeError', () => {
  test('explains WebSocket error events instead of printing [object ErrorEvent]', () => {
    const event = Object.assign(new Event('error'), { message: '', error: new TypeError('') })
    expect(describeError(event)).toBe('WebSocket error (connection refused or closed)')
    expect(describeError(new RangeError('bad'))).toBe('RangeError: bad')
  })
})
