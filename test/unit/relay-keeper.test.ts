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
