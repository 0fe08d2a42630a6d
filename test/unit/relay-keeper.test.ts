import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, test } from 'vitest'
import { RelayKeeper } from '../../src/core/network/relay-keeper.ts'
import type { RelayKeeperComponents } from '../../src/core/network/relay-keeper.ts'
import type { Logger } from '@libp2p/interface'

const RELAY = '12D3KooWSAE3WngaHdn7fTp6KUdQviWxs5SAcLULEhyg8WbqzYtX'
const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as unknown as Logger
const libp2p = {} as unknown as RelayKeeperComponents['libp2p']

describe('relay keeper', () => {
  test('a relay address without /p2p/<peer id> is refused at once, by name', () => {
    const addr = '/ip4/127.0.0.1/tcp/9090/ws'
    let thrown: unknown
    try {
      new RelayKeeper({ libp2p, log }, { relays: [multiaddr(addr)], onChange: () => {} })
    } catch (err) {
      thrown = err
    }
    expect(thrown).toMatchObject({
      name: 'InvalidRelayAddressError',
      addr,
      message: `relay address ${addr} has no /p2p/<peer id>`
    })
  })

  test('each relay is known by the peer id its address ends with', () => {
    const keeper = new RelayKeeper(
      { libp2p, log },
      { relays: [multiaddr(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${RELAY}`)], onChange: () => {} }
    )
    expect([...keeper.relayPeerIds]).toEqual([RELAY])
    expect(keeper.states()).toMatchObject([{ peerId: RELAY, connected: false, reserved: false, attempts: 0 }])
  })
})

describe('relay keeper events', () => {
  test('a reservation is noticed when the circuit listener announces it, not at the next periodic check', async () => {
    const relayAddr = `/ip4/127.0.0.1/tcp/9090/ws/p2p/${RELAY}`
    let addrs: ReturnType<typeof multiaddr>[] = []
    let connected = false
    const events = new EventTarget()
    const fake = Object.assign(events, {
      dial: async () => {
        await Promise.resolve()
        connected = true
        events.dispatchEvent(new Event('connection:open'))
        return {}
      },
      hangUp: async () => {},
      getConnections: () => (connected ? [{ remotePeer: { toString: () => RELAY }, status: 'open' }] : []),
      getMultiaddrs: () => addrs
    }) as unknown as RelayKeeperComponents['libp2p']
    const changes: boolean[] = []
    const keeper = new RelayKeeper(
      { libp2p: fake, log },
      {
        relays: [multiaddr(relayAddr)],
        onChange: () => changes.push(keeper.states()[0]!.reserved),
        checkIntervalMs: 3_600_000
      }
    )
    keeper.start()
    try {
      await expect.poll(() => keeper.states()[0]!.connected).toBe(true)
      expect(keeper.states()[0]!.reserved).toBe(false)
      addrs = [multiaddr(`${relayAddr}/p2p-circuit`)]
      events.dispatchEvent(new Event('transport:listening'))
      expect(keeper.states()[0]!.reserved).toBe(true)
      expect(changes.at(-1)).toBe(true)
    } finally {
      keeper.stop()
    }
  })
})
