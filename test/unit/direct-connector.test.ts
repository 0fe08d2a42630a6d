import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { DirectConnector } from '../../src/core/network/direct-connector.ts'
import { explainDialError } from '../../src/core/network/dial-errors.ts'
import type { DirectConnectorComponents } from '../../src/core/network/direct-connector.ts'
import type { Logger, PeerId } from '@libp2p/interface'

const RELAY = '12D3KooWSAE3WngaHdn7fTp6KUdQviWxs5SAcLULEhyg8WbqzYtX'
const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as unknown as Logger

async function peerIds(n = 2): Promise<PeerId[]> {
  const ids = await Promise.all(
    Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
  )
  // the lower id is the designated dialer of a pair
  return ids.sort((a, b) => (a.toString() < b.toString() ? -1 : 1))
}

/**
 * A libp2p whose peer store knows each of `remotes` at a WebRTC address and whose dials end as
 * `dial` says (with the dial's abort signal, which the connector's timeout fires).
 */
function fakeLibp2p(
  self: PeerId,
  remotes: PeerId | PeerId[],
  dial: (signal: AbortSignal) => Promise<unknown>
) {
  const peers = new Map(
    [remotes].flat().map(id => {
      const addr = multiaddr(`/ip4/127.0.0.1/tcp/1/ws/p2p/${RELAY}/p2p-circuit/webrtc`)
      return [id.toString(), { id, addresses: [{ multiaddr: addr, isCertified: false }] }]
    })
  )
  const libp2p = {
    peerId: self,
    dial: vi.fn(async (_addr: unknown, options: { signal: AbortSignal }) => await dial(options.signal)),
    getConnections: () => [],
    peerStore: {
      all: async () => await Promise.resolve([...peers.values()]),
      get: async (id: PeerId) => await Promise.resolve(peers.get(id.toString())),
      delete: async (id: PeerId) => {
        peers.delete(id.toString())
        await Promise.resolve()
      }
    },
    addEventListener: () => {},
    removeEventListener: () => {}
  }
  return { libp2p, known: (id: PeerId = [remotes].flat()[0]!) => peers.has(id.toString()) }
}

/** A dial that settles only when its signal aborts (a handshake slower than any timeout). */
const hangs = async (signal: AbortSignal): Promise<never> =>
  await new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })
  })

const noReservation = async (): Promise<never> =>
  await Promise.reject(new Error('failed to connect via relay with status NO_RESERVATION'))

describe('direct connector', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  test('a pair whose dials keep failing is dialled again and again while the peer announces itself', async () => {
    const [self, remote] = (await peerIds()) as [PeerId, PeerId]
    const { libp2p, known } = fakeLibp2p(self, remote, noReservation)
    const connector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      { isRelay: id => id === RELAY, onChange: () => {}, maxBackoffMs: 2_000, forgetAfterMs: 30_000 }
    )
    connector.start()
    for (let t = 0; t < 60; t++) {
      await vi.advanceTimersByTimeAsync(1_000)
      connector.announced(remote.toString()) // its discovery announcement, every second
    }
    // the connector of old forgot the peer after six failures
    expect(libp2p.dial.mock.calls.length).toBeGreaterThan(20)
    expect(known()).toBe(true)
    const state = connector.dialStates().get(remote.toString())
    expect(state).toMatchObject({ dialer: 'self', lastErrorClass: 'no-reservation' })
    expect(state?.nextAttemptAt).toBeGreaterThan(0)
    expect(connector.stats.errorsByClass['no-reservation']).toBe(libp2p.dial.mock.calls.length)
    connector.stop()
  })

  test('listeners hear of each dial twice, as it starts and once its outcome is in the state', async () => {
    const [self, remote] = (await peerIds()) as [PeerId, PeerId]
    const { libp2p } = fakeLibp2p(self, remote, noReservation)
    const seen: Array<{ peerId: string; dialing: boolean | undefined; lastErrorClass?: string }> = []
    const connector: DirectConnector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      {
        isRelay: id => id === RELAY,
        onChange: peerId => {
          const state = connector.dialStates().get(peerId)
          seen.push({ peerId, dialing: state?.dialing, lastErrorClass: state?.lastErrorClass })
        }
      }
    )
    connector.start()
    await vi.advanceTimersByTimeAsync(1_000)
    connector.stop()
    expect(libp2p.dial).toHaveBeenCalledTimes(1)
    expect(seen).toEqual([
      { peerId: remote.toString(), dialing: true, lastErrorClass: undefined },
      { peerId: remote.toString(), dialing: false, lastErrorClass: 'no-reservation' }
    ])
  })

  test('a peer with no connection that stopped announcing itself is forgotten', async () => {
    const [self, remote] = (await peerIds()) as [PeerId, PeerId]
    const { libp2p, known } = fakeLibp2p(self, remote, noReservation)
    const connector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      { isRelay: id => id === RELAY, onChange: () => {}, forgetAfterMs: 30_000 }
    )
    connector.start()
    await vi.advanceTimersByTimeAsync(20_000)
    expect(known()).toBe(true)
    await vi.advanceTimersByTimeAsync(15_000)
    expect(known()).toBe(false)
    expect(connector.dialStates().has(remote.toString())).toBe(false)
    connector.stop()
  })

  test('a dial that timed out while no ICE servers are configured says so, and keeps its own error', async () => {
    const [self, remote] = (await peerIds()) as [PeerId, PeerId]
    const timeout = async (): Promise<never> =>
      await Promise.reject(Object.assign(new Error('signal timed out'), { name: 'TimeoutError' }))
    const { libp2p } = fakeLibp2p(self, remote, timeout)
    const connector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      {
        isRelay: id => id === RELAY,
        onChange: () => {},
        explain: errorClass => explainDialError(errorClass, { iceServerCount: 0, localOnly: false })
      }
    )
    connector.start()
    await vi.advanceTimersByTimeAsync(1_000)
    connector.stop()
    expect(connector.dialStates().get(remote.toString())).toMatchObject({
      lastError:
        'TimeoutError: signal timed out (no STUN/TURN servers configured: peers on different networks cannot connect directly; see ICE_SERVERS)',
      lastErrorClass: 'no-ice-servers'
    })
    expect(connector.stats.errorsByClass).toEqual({ 'no-ice-servers': 1 })
    expect(connector.stats.recentErrors[0]).toMatch(/signal timed out \(no STUN\/TURN servers configured/)
  })

  test('a dial that failed for another reason is not explained', async () => {
    const [self, remote] = (await peerIds()) as [PeerId, PeerId]
    const { libp2p } = fakeLibp2p(self, remote, noReservation)
    const connector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      {
        isRelay: id => id === RELAY,
        onChange: () => {},
        explain: errorClass => explainDialError(errorClass, { iceServerCount: 0, localOnly: false })
      }
    )
    connector.start()
    await vi.advanceTimersByTimeAsync(1_000)
    connector.stop()
    expect(connector.dialStates().get(remote.toString())).toMatchObject({
      lastError: 'failed to connect via relay with status NO_RESERVATION',
      lastErrorClass: 'no-reservation'
    })
  })

  test('a dial that returns a relayed connection is a failed upgrade, of class not-direct', async () => {
    const [self, remote] = (await peerIds()) as [PeerId, PeerId]
    // libp2p hands back the relayed connection it already has instead of a direct one
    const relayed = async (): Promise<unknown> =>
      await Promise.resolve({
        remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/1/ws/p2p/${RELAY}/p2p-circuit/p2p/${remote.toString()}`),
        direct: false,
        status: 'open'
      })
    const { libp2p } = fakeLibp2p(self, remote, relayed)
    const connector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      { isRelay: id => id === RELAY, onChange: () => {} }
    )
    connector.start()
    await vi.advanceTimersByTimeAsync(1_000)
    connector.stop()
    const state = connector.dialStates().get(remote.toString())
    expect(state?.lastErrorClass).toBe('not-direct')
    expect(state?.lastError).toMatch(
      /^NotDirectError: dial returned a .*\/p2p-circuit\/.* connection, not a direct one$/
    )
    expect(connector.stats).toMatchObject({
      attempts: 1,
      successes: 0,
      failures: 1,
      errorsByClass: { 'not-direct': 1 }
    })
  })

  test('three dials start at once, the others are queued and say so; each timeout halves the window', async () => {
    const [self, ...remotes] = await peerIds(6)
    const { libp2p } = fakeLibp2p(self!, remotes, hangs)
    const connector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      { isRelay: id => id === RELAY, onChange: () => {} }
    )
    connector.start()
    // self has the lowest id: it is the designated dialer of all five pairs
    await vi.advanceTimersByTimeAsync(5_000)
    expect(libp2p.dial).toHaveBeenCalledTimes(3)
    const states = [...connector.dialStates().values()]
    expect(states.filter(s => s.dialing)).toHaveLength(3)
    expect(states.filter(s => s.queued === true)).toHaveLength(2)
    // the three time out at 20 s (3 → 1 → 1 → 1); the two waiting pairs (never dialled) go first, one at a time
    await vi.advanceTimersByTimeAsync(17_000)
    expect(connector.stats.window).toBe(1)
    expect([...connector.dialStates().values()].filter(s => s.dialing)).toHaveLength(1)
    const dialled = new Set(libp2p.dial.mock.calls.map(([addr]) => String(addr)))
    expect(dialled.size).toBe(4)
    connector.stop()
  })

  test('each direct dial widens the window by one, up to six, and a queued dial starts as soon as a slot is free', async () => {
    const [self, ...remotes] = await peerIds(9)
    // every dial takes 1 s and ends direct
    const direct = async (signal: AbortSignal): Promise<unknown> => {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 1_000)
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), {
          once: true
        })
      })
      return { remoteAddr: multiaddr('/ip4/127.0.0.1/udp/1/webrtc'), direct: true, status: 'open' }
    }
    const { libp2p } = fakeLibp2p(self!, remotes, direct)
    // the connections the dials opened, so that a pair already direct is not dialled again
    const opened: unknown[] = []
    libp2p.dial.mockImplementation(async (addr: unknown, options: { signal: AbortSignal }) => {
      const conn = (await direct(options.signal)) as object
      const remote = String(addr).split('/p2p/').at(-1)
      opened.push({ ...conn, remotePeer: { toString: () => remote } })
      return conn
    })
    libp2p.getConnections = () => opened as never[]
    const connector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      // a scan only every minute: what starts the queued dials is the slot freed, not the scan
      { isRelay: id => id === RELAY, onChange: () => {}, scanIntervalMs: 60_000 }
    )
    connector.start()
    for (const id of remotes) connector.announced(id.toString())
    await vi.advanceTimersByTimeAsync(10)
    expect(libp2p.dial).toHaveBeenCalledTimes(3)
    await vi.advanceTimersByTimeAsync(1_000) // the first three end direct: window 6, five more start
    expect(libp2p.dial).toHaveBeenCalledTimes(8)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(connector.stats).toMatchObject({ successes: 8, window: 6 })
    connector.stop()
  })

  test('a pair whose dial timed out gets half as long again for its next dial, up to 28 s', async () => {
    const [self, remote] = (await peerIds()) as [PeerId, PeerId]
    const { libp2p } = fakeLibp2p(self, remote, hangs)
    const connector = new DirectConnector(
      { libp2p: libp2p as unknown as DirectConnectorComponents['libp2p'], log },
      { isRelay: id => id === RELAY, onChange: () => {}, maxBackoffMs: 500 }
    )
    connector.start()
    await vi.advanceTimersByTimeAsync(200_000)
    connector.stop()
    const durations = connector.stats.recentErrors.map(e => Number(/after (\d+) ms/.exec(e)?.[1]))
    expect(durations.slice(0, 4)).toEqual([20_000, 28_000, 28_000, 28_000])
    expect(connector.stats.errorsByClass.timeout).toBe(durations.length)
  })
})
