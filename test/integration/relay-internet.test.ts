/**
 * The relay set up for the internet (issue 13): TLS with certificate renewal, announced
 * addresses, public origins behind a proxy, ICE servers and TURN credentials. Each relay is a
 * real process configured through its environment.
 */
import { createHmac } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getCACertificates, setDefaultCACertificates } from 'node:tls'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { RelayProcess, freePort } from '../helpers/relay-process.ts'
import { waitUntil } from '../helpers/relay.ts'
import { selfSignedCertificate, servedFingerprint } from '../helpers/tls.ts'
import type { RuntimeConfig } from '../../src/core/index.ts'
import type { MarketplaceNode } from '../../src/core/index.ts'

let dir: string
const relays: RelayProcess[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-internet-'))
})
afterEach(async () => {
  await Promise.all(relays.splice(0).map(async relay => await relay.stop()))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function startRelay(env: Record<string, string>): Promise<RelayProcess> {
  const dataDir = join(dir, `relay-${relays.length}-${Date.now()}`)
  await mkdir(dataDir)
  const relay = new RelayProcess(dataDir, await freePort(), await freePort(), {
    STATIC_DIR: join(dataDir, 'no-app'),
    ...env
  })
  relays.push(relay)
  await relay.start()
  return relay
}

/** An HTTP request with headers fetch would not send as given (Host). */
async function send(
  port: number,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
  body?: string
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.once('error', reject)
    req.end(body)
  })
}

const span = JSON.stringify({ resourceSpans: [] })
const postSpans = async (port: number, headers: Record<string, string>): Promise<number> =>
  (await send(port, '/v1/traces', { 'Content-Type': 'application/json', ...headers }, 'POST', span)).status

describe('origin checks', () => {
  test('DNS rebinding: Host and Origin both naming a foreign name get 403; the loopback origins still export', async () => {
    const relay = await startRelay({})
    const port = relay.port
    expect(await postSpans(port, { Host: `evil.test:${port}`, Origin: `http://evil.test:${port}` })).toBe(403)
    // with no settings, the app on loopback works as before: at 127.0.0.1 and at localhost
    expect(await postSpans(port, { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}` })).toBe(200)
    expect(await postSpans(port, { Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).toBe(200)
    const config = async (host: string): Promise<RuntimeConfig> =>
      JSON.parse((await send(port, '/config.json', { Host: host })).body) as RuntimeConfig
    expect((await config(`localhost:${port}`)).otlpTracesEndpoint).toBe(`http://localhost:${port}/v1/traces`)
    expect((await config(`127.0.0.1:${port}`)).otlpTracesEndpoint).toBe(`http://127.0.0.1:${port}/v1/traces`)
    // the rebound name is not handed back in a URL
    expect((await config(`evil.test:${port}`)).otlpTracesEndpoint).toBe(`http://127.0.0.1:${port}/v1/traces`)
  })

  test('behind a TLS proxy: the public origin exports, URLs are https://market.test, forged forwarding is ignored', async () => {
    const relay = await startRelay({
      PUBLIC_ORIGINS: 'https://market.test',
      TRUST_PROXY: '1',
      ANNOUNCE_ADDRS: '/dns4/market.test/tcp/443/wss'
    })
    const port = relay.port
    const proxied = {
      Host: `127.0.0.1:${port}`,
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'market.test'
    }
    expect(await postSpans(port, { ...proxied, Origin: 'https://market.test' })).toBe(200)
    const preflight = await send(
      port,
      '/v1/traces',
      { ...proxied, Origin: 'https://market.test', 'Access-Control-Request-Method': 'POST' },
      'OPTIONS'
    )
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('https://market.test')
    // the relay's listen address is no public origin any more, and forwarded headers cannot make one
    expect(await postSpans(port, { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}` })).toBe(403)
    expect(
      await postSpans(port, {
        Host: 'evil.test',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'evil.test',
        Origin: 'https://evil.test'
      })
    ).toBe(403)

    const viaProxy = JSON.parse((await send(port, '/config.json', proxied)).body) as RuntimeConfig
    expect(viaProxy.otlpTracesEndpoint).toBe('https://market.test/v1/traces')
    const forged = JSON.parse(
      (await send(port, '/config.json', { ...proxied, 'X-Forwarded-Host': 'evil.test' })).body
    ) as RuntimeConfig
    expect(forged.otlpTracesEndpoint).toBe('https://market.test/v1/traces')
    // an https origin with a wss announce address: nothing to warn about
    expect(relay.output).not.toContain('warning')
  })
})

describe('who may use the collector', () => {
  const TOKEN = 'c0ffee'.repeat(8)
  const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` })

  test('reads need a Host naming the relay (a rebound name cannot); on loopback, tools still export without a token', async () => {
    const relay = await startRelay({})
    const port = relay.port
    const read = async (headers: Record<string, string>): Promise<number> =>
      (await send(port, '/api/traces', headers)).status
    // a page on a rebound name reads same-origin: no Origin, its own name as Host
    expect(await read({ Host: `evil.test:${port}` })).toBe(403)
    expect(await read({ Host: `127.0.0.1:${port}` })).toBe(200)
    expect(await read({ Host: `localhost:${port}` })).toBe(200)
    // a tool on this machine exports as before
    expect(await postSpans(port, { Host: `127.0.0.1:${port}` })).toBe(200)
  })

  test('a public relay: exports without a browser Origin need COLLECTOR_TOKEN, reads a public Host or the token', async () => {
    const relay = await startRelay({
      PUBLIC_ORIGINS: 'https://market.test',
      TRUST_PROXY: '1',
      COLLECTOR_TOKEN: TOKEN
    })
    const port = relay.port
    const proxied = { Host: 'market.test', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'market.test' }
    // the app exports with its Origin, and reads same-origin through the proxy
    expect(await postSpans(port, { ...proxied, Origin: 'https://market.test' })).toBe(200)
    expect((await send(port, '/api/traces', proxied)).status).toBe(200)
    // a tool: refused without the token, or with another one, admitted with it
    const anonymous = await send(
      port,
      '/v1/traces',
      { ...proxied, 'Content-Type': 'application/json' },
      'POST',
      span
    )
    expect(anonymous.status).toBe(401)
    expect(anonymous.body).toContain('Authorization: Bearer <COLLECTOR_TOKEN>')
    expect(await postSpans(port, { ...proxied, ...bearer('f'.repeat(48)) })).toBe(401)
    expect(await postSpans(port, { Host: `127.0.0.1:${port}`, ...bearer(TOKEN) })).toBe(200)
    // reading on the listen address is no public origin any more: the token admits a tool
    expect((await send(port, '/api/traces', { Host: `127.0.0.1:${port}` })).status).toBe(403)
    expect((await send(port, '/api/traces', { Host: `127.0.0.1:${port}`, ...bearer(TOKEN) })).status).toBe(
      200
    )
  })

  test('a public relay without COLLECTOR_TOKEN says why a tool cannot export', async () => {
    const relay = await startRelay({ PUBLIC_ORIGINS: 'https://market.test' })
    const res = await send(relay.port, '/v1/traces', { 'Content-Type': 'application/json' }, 'POST', span)
    expect(res.status).toBe(401)
    expect(res.body).toContain('COLLECTOR_TOKEN is not set')
  })
})

describe('ANNOUNCE_ADDRS', () => {
  test('/config.json and identify give the announced addresses (with /p2p/<id>), not the listen address', async () => {
    const relay = await startRelay({
      ANNOUNCE_ADDRS: '/dns4/relay.market.test/tcp/443/wss,/ip4/203.0.113.7/tcp/9443/tls/ws'
    })
    const { peerId } = await relay.health()
    const config = (await (await fetch(`${relay.url}/config.json`)).json()) as RuntimeConfig
    expect(config.relays).toEqual([
      `/dns4/relay.market.test/tcp/443/wss/p2p/${peerId}`,
      `/ip4/203.0.113.7/tcp/9443/tls/ws/p2p/${peerId}`
    ])
    expect(relay.output).toContain(`relay: announcing /dns4/relay.market.test/tcp/443/wss/p2p/${peerId}`)

    // a peer that reached the relay at its listen address learns the announced ones
    const peer = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
    try {
      await peer.dial(multiaddr(`/ip4/127.0.0.1/tcp/${relay.relayPort}/ws/p2p/${peerId}`))
      const advertised = async (): Promise<string[]> =>
        (await peer.peerStore.get(peerIdFromString(peerId))).addresses.map(a => a.multiaddr.toString())
      await waitUntil(
        'the relay identified itself with its announced addresses',
        async () => (await advertised()).includes('/dns4/relay.market.test/tcp/443/wss'),
        10_000
      )
      const identified = await peer.services.identify.identify(peer.getConnections()[0]!)
      expect(identified.listenAddrs.map(ma => ma.toString())).toEqual([
        '/dns4/relay.market.test/tcp/443/wss',
        '/ip4/203.0.113.7/tcp/9443/tls/ws'
      ])
    } finally {
      await peer.stop()
    }
  })
})

describe('ICE_SERVERS and TURN credentials', () => {
  const secret = 'turn-shared-secret-for-tests'

  test('/config.json carries the ICE servers and fresh TURN credentials, never the secret, and is not cached', async () => {
    const relay = await startRelay({
      ICE_SERVERS:
        'stun:stun.market.test:3478,turn:turn.market.test:3478?transport=udp,turns:turn.market.test:5349',
      TURN_SECRET: secret,
      TURN_TTL: '600'
    })
    const before = Math.floor(Date.now() / 1000)
    const response = await fetch(`${relay.url}/config.json`)
    const text = await response.text()
    const after = Math.floor(Date.now() / 1000)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(text).not.toContain(secret)
    const config = JSON.parse(text) as RuntimeConfig
    expect(config.iceServers).toEqual([
      { urls: ['stun:stun.market.test:3478'] },
      {
        urls: ['turn:turn.market.test:3478?transport=udp', 'turns:turn.market.test:5349'],
        username: expect.stringMatching(/^\d+:[\w-]+$/) as string,
        credential: expect.any(String) as string
      }
    ])
    const { username = '', credential } = config.iceServers[1] ?? {}
    const expiry = Number(username.split(':')[0])
    expect(expiry).toBeGreaterThanOrEqual(before + 600)
    expect(expiry).toBeLessThanOrEqual(after + 600)
    expect(credential).toBe(createHmac('sha1', secret).update(username).digest('base64'))
    // every request mints its own
    const again = (await (await fetch(`${relay.url}/config.json`)).json()) as RuntimeConfig
    expect(again.iceServers[1]?.username).not.toBe(username)
  })
})

describe('TLS', () => {
  const defaultCAs = getCACertificates('default')
  let node: MarketplaceNode | undefined
  afterEach(async () => {
    await node?.stop()
    setDefaultCACertificates(defaultCAs)
  })

  test('HTTPS and WSS with one certificate; a Node peer joins over wss; renewed files are served without a restart', async () => {
    const certs = join(dir, 'certs')
    await mkdir(certs, { recursive: true })
    const [first, second] = await Promise.all([
      selfSignedCertificate(certs, 'first'),
      selfSignedCertificate(certs, 'second')
    ])
    const live = { certFile: join(certs, 'live.crt'), keyFile: join(certs, 'live.key') }
    await copyFile(first.certFile, live.certFile)
    await copyFile(first.keyFile, live.keyFile)
    // this process trusts both, as a browser would trust a CA that signed them
    setDefaultCACertificates([...defaultCAs, first.cert, second.cert])

    const relay = await startRelay({ TLS_CERT: live.certFile, TLS_KEY: live.keyFile })
    const origin = `https://127.0.0.1:${relay.port}`
    expect(relay.output).toContain(`relay: open ${origin}/ in a browser`)
    const config = (await (await fetch(`${origin}/config.json`)).json()) as RuntimeConfig
    expect(config.relays).toHaveLength(1)
    expect(config.relays[0]).toMatch(
      new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/${relay.relayPort}/tls/ws/p2p/12D3KooW`)
    )
    expect(config.otlpTracesEndpoint).toBe(`${origin}/v1/traces`)
    expect(await servedFingerprint(relay.port)).toBe(first.fingerprint256)
    expect(await servedFingerprint(relay.relayPort)).toBe(first.fingerprint256)

    // a Node peer as a tab would: config over https, then the relay over wss
    node = await createMarketplaceNode({ configUrl: origin })
    await node.waitFor('online', { signal: AbortSignal.timeout(20_000) })
    const relayId = config.relays[0]?.split('/p2p/')[1] ?? ''
    const [connection] = node.libp2p.getConnections(peerIdFromString(relayId))
    expect(connection?.remoteAddr.toString()).toContain(`/tcp/${relay.relayPort}/tls/ws`)

    // renewal: the files are replaced in place (the key a moment after the certificate)
    await copyFile(second.certFile, live.certFile)
    await copyFile(second.keyFile, live.keyFile)
    await waitUntil(
      'the renewed certificate on both ports',
      async () =>
        (await servedFingerprint(relay.port)) === second.fingerprint256 &&
        (await servedFingerprint(relay.relayPort)) === second.fingerprint256,
      15_000
    )
    expect(relay.running).toBe(true)
    expect(relay.output).toMatch(/relay: TLS certificate renewed \(SHA-256 [0-9A-F:]+/)
    // the open connection stays; new ones work with the new certificate
    expect(node.status().state).toBe('online')
    expect((await fetch(`${origin}/healthz`)).status).toBe(200)
  })
})
