/**
 * What PROTOCOL.md tells a third-party node that only trial would otherwise show, checked with a
 * plain js-libp2p node (none of our node code) against a real relay and tab: reachability (§8),
 * kad-dht's address filter (§1), DHT values stored as sent and refused PUTs (§5), and a request
 * over the size limit (§6).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { fromString, toString } from 'uint8arrays'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { encodeRecord, signRecord } from '../../src/core/package/record.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import { createStranger } from '../helpers/stranger.ts'
import type { MarketplaceNode } from '../../src/core/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { KadDHT, KadDHTInit } from '@libp2p/kad-dht'

const SEARCH = '/p2p-marketplace/search/1.0.0'
let stopRelay: () => Promise<void>
let relayAddr: string
let tab: MarketplaceNode
const stop: Array<() => Promise<void>> = []

beforeAll(async () => {
  const started = await startTestRelay()
  stopRelay = started.cleanup
  const config = (await (await fetch(`${started.relay.httpUrl}/config.json`)).json()) as { relays: string[] }
  relayAddr = config.relays[0] ?? ''
  // a search waits for every peer it asks: the stranger's answer comes through the relay, later
  // than the relay's own, and beside two CPU hogs later than the default 150 ms of grace after it
  tab = await createMarketplaceNode({
    configUrl: started.relay.httpUrl,
    service: { graceMs: 10_000, peerTimeoutMs: 10_000 }
  })
  await tab.waitFor('online', { signal: AbortSignal.timeout(20_000) })
})

afterAll(async () => {
  for (const fn of stop) await fn()
  await tab?.stop()
  await stopRelay()
})

/** A stranger that answers searches with `records`, counting the requests it served. */
async function searchServer(options: { reserve: boolean }): Promise<{ node: Libp2p; served: () => number }> {
  const key = await generateKeyPair('Ed25519')
  const node = await createStranger({}, key, { circuits: options.reserve ? 'reserve' : 'dial' })
  stop.push(async () => await node.stop())
  const record = await signRecord(
    {
      id: `far/${options.reserve ? 'reserved' : 'unreserved'}`,
      version: '1.0.0',
      title: 'Far',
      description: 'x',
      license: 'MIT'
    },
    key
  )
  let served = 0
  await node.handle(
    SEARCH,
    async stream => {
      const lp = lpStream(stream)
      await lp.read()
      served++
      await lp.write(fromString(JSON.stringify({ records: [record] })))
      await stream.close()
    },
    { runOnLimitedConnection: true }
  )
  await node.dial(multiaddr(relayAddr))
  if (options.reserve) {
    await waitUntil('a reservation', () =>
      node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))
    )
  }
  // the stranger reaches the tab through the relay: the tab now has a limited connection to it
  await node.dial(multiaddr(`${relayAddr}/p2p-circuit/p2p/${tab.peerId}`))
  await waitUntil('the tab to know it speaks search', async () => {
    const peer = await tab.libp2p.peerStore.get(node.peerId).catch(() => undefined)
    return peer?.protocols.includes(SEARCH) === true
  })
  return { node, served: () => served }
}

describe('§8 being reachable from tabs', () => {
  test('without a reservation every request of a tab fails and the peer falls to 0.10', async () => {
    const { node, served } = await searchServer({ reserve: false })
    for (let i = 0; i < 3; i++) await tab.search({ text: `unreserved ${i}` })
    expect(served()).toBe(0)
    const reputation = tab.peers().find(p => p.peerId === node.peerId.toString())?.reputation
    expect(reputation).toBeLessThan(0.11)
    await expect(
      tab.libp2p.dialProtocol(node.peerId, SEARCH, { runOnLimitedConnection: true })
    ).rejects.toMatchObject({ name: 'NoValidAddressesError' })
  })

  test('with a reservation the tab asks it through the relay and takes its answer', async () => {
    const { served } = await searchServer({ reserve: true })
    const found = await tab.search({ text: 'far reserved' })
    expect(served()).toBeGreaterThan(0)
    expect(found.packages.map(p => p.id)).toContain('far/reserved')
  })
})

describe('§1, §5 the DHT', () => {
  const dht = (init: Partial<KadDHTInit> = {}): ((components: unknown) => KadDHT) =>
    kadDHT({
      protocol: '/p2p-marketplace/kad/1.0.0',
      clientMode: true,
      peerInfoMapper: passthroughMapper,
      validators: { mkt: async () => {} },
      selectors: { mkt: () => 0 },
      ...init
    }) as (components: unknown) => KadDHT

  async function dhtStranger(init: Partial<KadDHTInit> = {}): Promise<Libp2p<{ dht: KadDHT }>> {
    const node = await createStranger({ dht: dht(init) }, await generateKeyPair('Ed25519'))
    stop.push(async () => await node.stop())
    await node.dial(multiaddr(relayAddr))
    return node
  }

  /** The names of `put`'s events: `PEER_RESPONSE:PUT_VALUE`, `QUERY_ERROR:StreamResetError`, … */
  async function put(node: Libp2p<{ dht: KadDHT }>, key: string, value: string): Promise<string[]> {
    const events: string[] = []
    for await (const e of node.services.dht.put(fromString(key), fromString(value), {
      signal: AbortSignal.timeout(10_000)
    })) {
      if (e.name === 'PEER_RESPONSE') events.push(`${e.name}:${e.messageName}`)
      if (e.name === 'QUERY_ERROR') events.push(`${e.name}:${e.error.name}`)
    }
    return events
  }

  test('kad-dht’s default address filter keeps a relay on 127.0.0.1 out: a put waits, sending nothing', async () => {
    const node = await dhtStranger({ peerInfoMapper: undefined })
    const events: string[] = []
    const putting = (async () => {
      for await (const e of node.services.dht.put(fromString('/mkt/a/b'), fromString('{}'), {
        signal: AbortSignal.timeout(2_000)
      }))
        events.push(e.name)
    })()
    await expect(putting).rejects.toThrow()
    expect(events).toEqual([])
  })

  test('a refused PUT_VALUE is a stream reset; an accepted one is stored as sent', async () => {
    const key = await generateKeyPair('Ed25519')
    const writer = await createStranger({ dht: dht() }, key)
    stop.push(async () => await writer.stop())
    await writer.dial(multiaddr(relayAddr))
    const reader = await dhtStranger()
    await waitUntil('the relay in the routing table', async () => {
      for await (const peer of writer.services.dht.getClosestPeers(fromString('/mkt/x')))
        if (peer != null) return true
      return false
    })
    expect(await put(writer, '/mkt/sent/as-is/1.0.0', '{"not":"a record"}')).toEqual([
      'PEER_RESPONSE:FIND_NODE',
      'QUERY_ERROR:StreamResetError'
    ])
    const record = await signRecord(
      { id: 'sent/as-is', version: '1.0.0', title: 'T', description: 'D', license: 'MIT' },
      key
    )
    expect(await put(writer, '/mkt/sent/as-is/1.0.0', toString(encodeRecord(record)))).toContain(
      'PEER_RESPONSE:PUT_VALUE'
    )
    // the same record again, not canonical: accepted (a refresh) and kept byte for byte
    const pretty = JSON.stringify(record, null, 2)
    expect(await put(writer, '/mkt/sent/as-is/1.0.0', pretty)).toContain('PEER_RESPONSE:PUT_VALUE')
    let got: string | undefined
    for await (const e of reader.services.dht.get(fromString('/mkt/sent/as-is/1.0.0')))
      if (e.name === 'VALUE') got = toString(e.value)
    expect(got).toBe(pretty)
  })
})

test('§6 a request over 8 KiB is answered too-large', async () => {
  const node = await createStranger({})
  stop.push(async () => await node.stop())
  const relay = await node.dial(multiaddr(relayAddr))
  const stream = await node.dialProtocol(relay.remotePeer, SEARCH)
  const lp = lpStream(stream)
  await lp.write(fromString(JSON.stringify({ type: 'search', query: { text: 'x'.repeat(9 * 1024) } })))
  const answer = JSON.parse(toString((await lp.read()).subarray())) as { error: { code: string } }
  expect(answer.error.code).toBe('too-large')
})
