import { byteStream, streamPair } from '@libp2p/utils'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { ConnectionLiveness } from '../../src/core/network/connection-liveness.ts'
import type { ComponentLogger, Connection, Logger } from '@libp2p/interface'

/** A connection whose ping streams fail as `newStream` says; `abort` records that it was closed. */
function fakeConnection(
  newStream: () => Promise<never>
): Connection & { aborted: Error[]; pings: () => number } {
  const aborted: Error[] = []
  const mock = vi.fn(newStream)
  const conn = {
    status: 'open',
    remotePeer: { toString: () => '12D3KooWfake' },
    newStream: mock,
    pings: () => mock.mock.calls.length,
    abort: (err: Error) => {
      aborted.push(err)
      conn.status = 'closed'
    },
    aborted
  }
  return conn as unknown as Connection & { aborted: Error[]; pings: () => number }
}

const refused = async (): Promise<never> =>
  await Promise.reject(Object.assign(new Error('stream reset'), { name: 'StreamResetError' }))
const unsupported = async (): Promise<never> =>
  await Promise.reject(Object.assign(new Error('no ping here'), { name: 'UnsupportedProtocolError' }))
const hangs = async (): Promise<never> => await new Promise<never>(() => {})
/** A ping stream whose peer sends back other bytes than it got. */
const garbles = async (): Promise<never> => {
  const [outbound, inbound] = await streamPair()
  const bytes = byteStream(inbound)
  void bytes.read({ bytes: 32 }).then(async got => await bytes.write(got.subarray().map(b => b ^ 0xff)))
  return outbound as never
}

const silent: ComponentLogger = {
  forComponent: () => {
    const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false })
    return Object.assign(log, { newScope: () => log }) as unknown as Logger
  }
}

function liveness(conn: Connection): ConnectionLiveness {
  return new ConnectionLiveness(
    { connectionManager: { getConnections: () => [conn] }, logger: silent },
    { intervalMs: 5_000, timeoutMs: 5_000, maxFailures: 3 }
  )
}

describe('connection liveness', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  test('a connection is closed after three failed pings in a row, not after one or two', async () => {
    const conn = fakeConnection(refused)
    const monitor = liveness(conn)
    monitor.start()
    await vi.advanceTimersByTimeAsync(5_000)
    expect(monitor.failures(conn)).toBe(1)
    await vi.advanceTimersByTimeAsync(5_000)
    expect([monitor.failures(conn), conn.aborted.length]).toEqual([2, 0])
    await vi.advanceTimersByTimeAsync(5_000)
    expect(conn.aborted).toHaveLength(1)
    expect(conn.aborted[0]?.name).toBe('StreamResetError')
    monitor.stop()
  })

  test('a peer whose pings come back different is closed like one that does not answer', async () => {
    const conn = fakeConnection(garbles)
    const monitor = liveness(conn)
    monitor.start()
    await vi.advanceTimersByTimeAsync(10_000)
    expect([monitor.failures(conn), conn.aborted.length]).toEqual([2, 0])
    await vi.advanceTimersByTimeAsync(5_000)
    expect(conn.aborted).toHaveLength(1)
    expect(conn.aborted[0]?.name).toBe('PingMismatchError')
    monitor.stop()
  })

  test('an answer in between starts the count again', async () => {
    let answer = refused
    const conn = fakeConnection(async () => await answer())
    const monitor = liveness(conn)
    monitor.start()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(monitor.failures(conn)).toBe(2)
    answer = unsupported // the peer answered (just not to ping): it is alive
    await vi.advanceTimersByTimeAsync(5_000)
    expect(monitor.failures(conn)).toBe(0)
    answer = refused
    await vi.advanceTimersByTimeAsync(10_000)
    expect([monitor.failures(conn), conn.aborted.length]).toEqual([2, 0])
    monitor.stop()
  })

  test('a slow peer gets one ping at a time, each with the whole timeout', async () => {
    const conn = fakeConnection(hangs)
    const monitor = liveness(conn)
    monitor.start()
    // pings start at 5 s (times out at 10 s), 15 s (→ 20 s), 25 s (→ 30 s): never two at once
    await vi.advanceTimersByTimeAsync(29_999)
    expect(conn.pings()).toBe(3)
    expect(conn.aborted).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(conn.aborted).toHaveLength(1)
    expect(conn.aborted[0]?.name).toBe('TimeoutError')
    monitor.stop()
  })

  test('pings that time out while this thread was paused do not count', async () => {
    const conn = fakeConnection(hangs)
    const monitor = liveness(conn)
    monitor.start()
    for (let i = 0; i < 4; i++) {
      // a ping starts; the thread is frozen for 8 s (the clock runs on, no timer fires), then resumes
      await vi.advanceTimersByTimeAsync(5_000)
      vi.setSystemTime(Date.now() + 8_000)
      await vi.advanceTimersByTimeAsync(5_000)
    }
    expect(conn.pings()).toBeGreaterThanOrEqual(4)
    expect([monitor.failures(conn), conn.aborted.length]).toEqual([0, 0])
    monitor.stop()
  })

  test('pings that fail while the peer keeps sending data do not count; once it falls silent they do', async () => {
    const conn = fakeConnection(hangs)
    // the connection's transport: libp2p keeps it as `maConn`, whose `message` events carry the bytes received
    const maConn = new EventTarget()
    Object.assign(conn, { maConn })
    const monitor = liveness(conn)
    monitor.start()
    for (let s = 0; s < 60; s++) {
      await vi.advanceTimersByTimeAsync(1_000)
      maConn.dispatchEvent(new Event('message')) // circuits forwarded by a busy relay
    }
    expect(conn.pings()).toBeGreaterThanOrEqual(5)
    expect([monitor.failures(conn), conn.aborted.length]).toEqual([0, 0])
    await vi.advanceTimersByTimeAsync(40_000)
    expect(conn.aborted).toHaveLength(1)
    monitor.stop()
  })

  test('a WebRTC connection whose ICE agent loses the peer is pinged at once and closed when that ping fails', async () => {
    const conn = fakeConnection(hangs)
    // @libp2p/webrtc keeps the RTCPeerConnection as the `peerConnection` of the connection's `maConn`
    const pc = Object.assign(new EventTarget(), { connectionState: 'connected', getStats: () => new Map() })
    Object.assign(conn, { maConn: { peerConnection: pc } })
    const monitor = liveness(conn)
    monitor.start()
    await vi.advanceTimersByTimeAsync(5_000) // the first round: a ping starts, and will time out at 10 s
    await vi.advanceTimersByTimeAsync(1_000)
    pc.connectionState = 'disconnected'
    pc.dispatchEvent(new Event('connectionstatechange'))
    await vi.advanceTimersByTimeAsync(4_000) // that ping fails while ICE says disconnected: closed on the first failure
    expect(conn.aborted).toHaveLength(1)
    expect(conn.pings()).toBe(1)
    monitor.stop()
  })

  test('ICE that reports the peer disconnected gets a ping at once; an answer keeps the connection', async () => {
    let answer: () => Promise<never> = hangs
    const conn = fakeConnection(async () => await answer())
    const pc = Object.assign(new EventTarget(), { connectionState: 'connected', getStats: () => new Map() })
    Object.assign(conn, { maConn: { peerConnection: pc } })
    const monitor = liveness(conn)
    monitor.start()
    await vi.advanceTimersByTimeAsync(5_000) // round one sees the connection
    await vi.advanceTimersByTimeAsync(5_000) // its ping timed out: one failure, ICE fine
    expect(monitor.failures(conn)).toBe(1)
    answer = unsupported // the peer answers again (just not to ping)
    const before = conn.pings()
    pc.connectionState = 'disconnected'
    pc.dispatchEvent(new Event('connectionstatechange'))
    await vi.advanceTimersByTimeAsync(1)
    expect(conn.pings()).toBe(before + 1) // asked at once, not at the next round
    expect([monitor.failures(conn), conn.aborted.length]).toEqual([0, 0])
    monitor.stop()
  })
})
