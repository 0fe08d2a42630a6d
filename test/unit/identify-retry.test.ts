import { TypedEventEmitter } from 'main-event'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { IdentifyRetry } from '../../src/core/network/identify-retry.ts'
import type {
  IdentifyResult,
  AbortOptions,
  ComponentLogger,
  Connection,
  Libp2pEvents,
  Logger
} from '@libp2p/interface'

const silent: ComponentLogger = {
  forComponent: () =>
    Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as unknown as Logger
}

let ids = 0
function connection(): Connection {
  return {
    id: `conn-${++ids}`,
    status: 'open',
    remotePeer: { toString: () => '12D3KooWfake' }
  } as unknown as Connection
}

/** An identify service whose answers the test decides: each call takes the next outcome. */
function fakeIdentify(events: TypedEventEmitter<Libp2pEvents>, outcomes: Array<'ok' | 'timeout'>) {
  const calls: Array<{ conn: Connection; signal?: AbortSignal }> = []
  return {
    calls,
    identify: async (conn: Connection, options: AbortOptions = {}): Promise<IdentifyResult> => {
      calls.push({ conn, signal: options.signal })
      await Promise.resolve()
      if (outcomes.shift() === 'timeout')
        throw Object.assign(new Error('timed out'), { name: 'TimeoutError' })
      const result = {
        peerId: conn.remotePeer,
        connection: conn,
        protocols: ['/p2p-marketplace/search/1.0.0']
      }
      events.safeDispatchEvent('peer:identify', { detail: result as unknown as IdentifyResult })
      return result as unknown as IdentifyResult
    }
  }
}

describe('IdentifyRetry', () => {
  let events: TypedEventEmitter<Libp2pEvents>
  beforeEach(() => {
    vi.useFakeTimers()
    events = new TypedEventEmitter<Libp2pEvents>()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  function start(outcomes: Array<'ok' | 'timeout'>): {
    retry: IdentifyRetry
    identify: ReturnType<typeof fakeIdentify>
  } {
    const identify = fakeIdentify(events, outcomes)
    const retry = new IdentifyRetry(
      { events, identify, logger: silent },
      { afterMs: 8_000, timeoutMs: 15_000, attempts: 2 }
    )
    retry.start()
    return { retry, identify }
  }

  test('a connection that libp2p identified is left alone', async () => {
    const { retry, identify } = start([])
    const conn = connection()
    events.safeDispatchEvent('connection:open', { detail: conn })
    events.safeDispatchEvent('peer:identify', { detail: { connection: conn } as unknown as IdentifyResult })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(identify.calls).toHaveLength(0)
    expect(retry.waiting).toBe(0)
  })

  test('a connection left unidentified is identified again after afterMs, with the longer timeout', async () => {
    const { retry, identify } = start(['ok'])
    const conn = connection()
    events.safeDispatchEvent('connection:open', { detail: conn })
    await vi.advanceTimersByTimeAsync(7_999)
    expect(identify.calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(identify.calls.map(c => c.conn)).toEqual([conn])
    expect(identify.calls[0]!.signal).toBeInstanceOf(AbortSignal)
    expect(retry.waiting).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(identify.calls).toHaveLength(1)
  })

  test('a retry that fails again is tried `attempts` times, then given up', async () => {
    const { retry, identify } = start(['timeout', 'timeout', 'ok'])
    events.safeDispatchEvent('connection:open', { detail: connection() })
    await vi.advanceTimersByTimeAsync(8_000)
    expect(identify.calls).toHaveLength(1)
    expect(retry.waiting).toBe(1)
    await vi.advanceTimersByTimeAsync(8_000)
    expect(identify.calls).toHaveLength(2)
    expect(retry.waiting).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(identify.calls).toHaveLength(2)
  })

  test('a connection that closed, or is closing, is not identified again', async () => {
    const { retry, identify } = start([])
    const closed = connection()
    const closing = connection()
    events.safeDispatchEvent('connection:open', { detail: closed })
    events.safeDispatchEvent('connection:open', { detail: closing })
    events.safeDispatchEvent('connection:close', { detail: closed })
    ;(closing as { status: string }).status = 'closing'
    await vi.advanceTimersByTimeAsync(60_000)
    expect(identify.calls).toHaveLength(0)
    expect(retry.waiting).toBe(0)
  })

  test('stop clears every timer', async () => {
    const { retry, identify } = start([])
    for (let i = 0; i < 5; i++) events.safeDispatchEvent('connection:open', { detail: connection() })
    expect(retry.waiting).toBe(5)
    retry.stop()
    expect(retry.waiting).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(identify.calls).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })
})
