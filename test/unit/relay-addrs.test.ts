import { afterEach, describe, expect, test, vi } from 'vitest'
import { InsecureRelayError } from '../../src/core/errors.ts'
import { MarketplaceNode } from '../../src/core/marketplace/marketplace-node.ts'
import { insecureRelayAddrs, isLoopbackAddr } from '../../src/core/network/relay-addrs.ts'
import type { NodeStatus } from '../../src/core/index.ts'

const ID = '12D3KooWSAE3WngaHdn7fTp6KUdQviWxs5SAcLULEhyg8WbqzYtX'
const WS = `/dns4/relay.example.com/tcp/9090/ws/p2p/${ID}`

describe('relay addresses an https page cannot use', () => {
  test.each([
    ['plain ws to another machine', WS, ['https:'], true],
    ['the same on an http page', WS, ['http:'], false],
    ['outside a browser', WS, [undefined], false],
    ['wss', `/dns4/relay.example.com/tcp/443/wss/p2p/${ID}`, ['https:'], false],
    ['tls/ws', `/ip4/203.0.113.5/tcp/443/tls/ws/p2p/${ID}`, ['https:'], false],
    [
      'tls/sni/…/ws',
      `/dns4/relay.example.com/tcp/443/tls/sni/relay.example.com/ws/p2p/${ID}`,
      ['https:'],
      false
    ],
    ['ws to 127.0.0.1 (browsers allow loopback)', `/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`, ['https:'], false],
    ['ws to ::1', `/ip6/::1/tcp/9090/ws/p2p/${ID}`, ['https:'], false],
    ['ws to localhost', `/dns/localhost/tcp/9090/ws/p2p/${ID}`, ['https:'], false],
    ['ws to a public IPv4', `/ip4/203.0.113.5/tcp/9090/ws/p2p/${ID}`, ['https:'], true]
  ])('%s', (_what, addr, [protocol], blocked) => {
    expect(insecureRelayAddrs([addr], protocol)).toEqual(blocked ? [addr] : [])
  })

  test('of several relays, only the blocked ones are named', () => {
    const wss = `/dns4/relay.example.com/tcp/443/wss/p2p/${ID}`
    expect(insecureRelayAddrs([WS, wss], 'https:')).toEqual([WS])
  })

  test('loopback hosts', () => {
    expect(isLoopbackAddr('/ip4/127.0.0.53/tcp/1/ws')).toBe(true)
    expect(isLoopbackAddr('/dns4/app.localhost/tcp/1/ws')).toBe(true)
    expect(isLoopbackAddr('/ip4/10.0.0.1/tcp/1/ws')).toBe(false)
    expect(isLoopbackAddr('/dns4/localhost.example.com/tcp/1/ws')).toBe(false)
  })
})

describe('a node on an https page given only ws:// relay addresses', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  test('goes offline at once and says why and what to do, instead of dialing', async () => {
    vi.stubGlobal('location', { protocol: 'https:', href: 'https://market.example/' })
    const node = new MarketplaceNode({ config: { relays: [WS], iceServers: [] } })
    const statuses: NodeStatus[] = []
    node.addEventListener('status', evt => statuses.push(evt.detail))
    const started = node.start()
    await expect(started).rejects.toThrow(InsecureRelayError)
    await expect(started).rejects.toThrow(
      'this page is https but the relay offers only ws:// addresses (/dns4/relay.example.com/tcp/9090/ws), which browsers block as mixed content: give the relay TLS (TLS_CERT/TLS_KEY) or announce wss addresses (ANNOUNCE_ADDRS)'
    )
    expect(node.status().state).toBe('offline')
    expect(node.status().progress).toMatch(/mixed content/)
    expect(statuses.at(-1)?.state).toBe('offline')
    expect(() => node.libp2p).toThrow(/not started/)
  })
})
