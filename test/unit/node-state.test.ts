import { describe, expect, test } from 'vitest'
import { nodeStateFrom } from '../../src/core/marketplace/node-state.ts'
import type { RelayState } from '../../src/core/network/relay-keeper.ts'

const relay = (over: Partial<RelayState> = {}): RelayState => ({
  addr: '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWJqmtzD9UE9vNBcy6jcnUD6Dfso6RWu21YX6yteWqXAuR',
  peerId: '12D3KooWJqmtzD9UE9vNBcy6jcnUD6Dfso6RWu21YX6yteWqXAuR',
  connected: false,
  reserved: false,
  attempts: 0,
  ...over
})

describe("the node's state", () => {
  test('online with a reservation on any relay; reserving while connected', () => {
    expect(nodeStateFrom([relay(), relay({ connected: true, reserved: true })], false)).toMatchObject({
      state: 'online',
      progress: 'online'
    })
    expect(nodeStateFrom([relay({ connected: true, attempts: 1 })], false)).toMatchObject({
      state: 'bootstrapping',
      progress: 'reserving a relay slot',
      connected: true
    })
  })

  test('the first dial is bootstrapping; a failed one, or a relay lost after being online, is offline with when the next dial is', () => {
    const now = 1_000_000
    expect(nodeStateFrom([relay({ attempts: 1 })], false, now)).toMatchObject({
      state: 'bootstrapping',
      progress: 'dialing relay'
    })
    expect(
      nodeStateFrom([relay({ attempts: 2, lastError: 'ECONNREFUSED', retryAt: now + 4_000 })], false, now)
    ).toEqual({
      state: 'offline',
      progress: 'relay unreachable (ECONNREFUSED), retrying in 4 s',
      connected: false,
      reserved: false,
      lastError: 'ECONNREFUSED'
    })
    expect(nodeStateFrom([relay({ attempts: 1, retryAt: now + 1_400 })], true, now)).toMatchObject({
      state: 'offline',
      progress: 'relay unreachable, retrying in 1 s'
    })
  })
})
