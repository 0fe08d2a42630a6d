import { createServer } from 'node:http'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { MAX_CONFIG_BYTES, configWarnings, doctorUrls, fetchConfig } from '../../relay/doctor/config-check.ts'
import { InvalidDoctorUrlError } from '../../relay/doctor/errors.ts'
import { checkIceTarget } from '../../relay/doctor/ice-checks.ts'
import { MAX_ICE_URLS, iceTargets, parseIceUrl } from '../../relay/doctor/ice-targets.ts'
import type { RuntimeConfig } from '../../src/core/config.ts'
import type { Server } from 'node:http'

const ID = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const page = new URL('https://relay.example')
const configUrl = new URL('https://relay.example/config.json')
const config = (over: Partial<RuntimeConfig> = {}): RuntimeConfig => ({
  relays: [`/dns4/relay.example/tcp/443/wss/p2p/${ID}`],
  iceServers: [
    { urls: ['stun:relay.example:3478'] },
    { urls: ['turn:relay.example:3478?transport=udp'], username: '1796302800:x', credential: 'c' }
  ],
  ...over
})
const warnings = (c: RuntimeConfig, at = page): Array<[string, string]> =>
  configWarnings(at, new URL('/config.json', at), c).map(w => [w.status, w.message])

describe('what a valid config gets wrong', () => {
  test('a complete deployment: nothing to say', () => {
    expect(warnings(config())).toEqual([])
  })

  test('an https page given plain ws relay addresses: a warning for some, a failure when all are (browsers block them)', () => {
    const ws = `/dns4/relay.example/tcp/9090/ws/p2p/${ID}`
    expect(warnings(config({ relays: [config().relays[0]!, ws] }))).toEqual([
      [
        'warning',
        expect.stringMatching(
          /^the page is https but 1 of the 2 relay addresses are plain ws .*mixed content$/
        )
      ]
    ])
    expect(warnings(config({ relays: [ws] }))).toEqual([
      ['failed', expect.stringMatching(/^the page is https but every relay address is plain ws/)]
    ])
    // fine for an http page, and for ws to this machine (browsers allow it)
    expect(warnings(config({ relays: [ws] }), new URL('http://relay.example'))).toEqual([])
    expect(warnings(config({ relays: [`/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`] }))).toEqual([])
  })

  test('no ICE servers, no TURN, TURN without credentials', () => {
    expect(warnings(config({ iceServers: [] }))).toEqual([
      ['warning', 'no ICE servers: tabs on different networks cannot connect directly']
    ])
    expect(warnings(config({ iceServers: [{ urls: 'stun:relay.example' }] }))).toEqual([
      ['warning', expect.stringMatching(/^no turn: URL in iceServers: tabs behind symmetric NATs/)]
    ])
    expect(warnings(config({ iceServers: [{ urls: ['turn:relay.example'] }] }))).toEqual([
      [
        'warning',
        'TURN URLs without username and credential (turn:relay.example): browsers refuse such a server'
      ]
    ])
  })

  test('a plain http traces endpoint for an https page', () => {
    expect(warnings(config({ otlpTracesEndpoint: 'http://relay.example/v1/traces' }))).toEqual([
      ['warning', expect.stringMatching(/^the traces endpoint is plain http/)]
    ])
    expect(warnings(config({ otlpTracesEndpoint: '/v1/traces' }))).toEqual([])
  })
})

describe('ICE server entries', () => {
  test('URLs flattened with their entry credentials, repeats checked once, bad entries failed', () => {
    const { targets, checks } = iceTargets(
      [
        { urls: 'stun:a.example' },
        { urls: ['turn:a.example?transport=udp', 'stun:a.example'], username: 'u', credential: 'p' },
        { urls: [42] },
        'stun:b.example',
        { urls: 'stun:c.example', credential: 7 }
      ],
      configUrl.href
    )
    expect(targets).toEqual([
      { url: 'stun:a.example' },
      { url: 'turn:a.example?transport=udp', username: 'u', credential: 'p' }
    ])
    expect(checks.map(c => [c.status, c.message])).toEqual([
      ['failed', 'iceServers[2].urls must be a URL string or an array of them'],
      ['failed', 'iceServers[3] is not an object'],
      ['failed', 'iceServers[4].username and .credential must be strings']
    ])
  })

  test(`at most ${MAX_ICE_URLS} URLs are checked`, () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ urls: `stun:s${i}.example` }))
    const { targets, checks } = iceTargets(many, configUrl.href)
    expect(targets).toHaveLength(MAX_ICE_URLS)
    expect(checks).toMatchObject([
      { status: 'warning', message: `40 ICE server URLs: only the first ${MAX_ICE_URLS} are checked` }
    ])
  })

  test('URLs taken apart: default ports, transports, IPv6', () => {
    expect(parseIceUrl('stun:relay.example')).toEqual({
      scheme: 'stun',
      host: 'relay.example',
      port: 3478,
      transport: 'udp'
    })
    expect(parseIceUrl('turn:[2001:db8::1]:3479?transport=tcp')).toEqual({
      scheme: 'turn',
      host: '2001:db8::1',
      port: 3479,
      transport: 'tcp'
    })
    expect(parseIceUrl('turns:relay.example')).toEqual({
      scheme: 'turns',
      host: 'relay.example',
      port: 5349,
      transport: 'tls'
    })
    expect(() => parseIceUrl('turn://relay.example')).toThrow(/"\/\/"/)
  })

  test('an invalid URL fails with why', async () => {
    expect(await checkIceTarget({ url: 'stun:relay.example?transport=udp' })).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/^not a valid STUN\/TURN URL: .*stun: URLs take none/) as string
    })
  })

  test('a host name that does not resolve: the DNS error, no socket opened', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND turn.example'), { code: 'ENOTFOUND' })
    const result = await checkIceTarget(
      { url: 'stun:turn.example' },
      { resolve: () => Promise.reject(notFound) }
    )
    expect(result).toMatchObject({
      status: 'failed',
      message: 'cannot resolve turn.example (ENOTFOUND): no such name',
      hint: expect.stringContaining('ICE_SERVERS names it') as string
    })
  })

  test('a name server that never answers: the lookup gives up after 5 s and says the DNS failed', async () => {
    vi.useFakeTimers()
    try {
      const result = checkIceTarget({ url: 'stun:turn.example' }, { resolve: () => new Promise(() => {}) })
      await vi.advanceTimersByTimeAsync(4999)
      let settled = false
      void result.then(() => (settled = true))
      await vi.advanceTimersByTimeAsync(0)
      expect(settled).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(await result).toMatchObject({
        status: 'failed',
        message: 'the DNS lookup of turn.example failed (EAI_AGAIN)',
        hint: expect.stringContaining('ICE_SERVERS names it') as string
      })
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('the URL given', () => {
  test('an origin gets /config.json, a path ending in / gets config.json, a full URL is kept', () => {
    expect(doctorUrls('https://relay.example').config.href).toBe('https://relay.example/config.json')
    expect(doctorUrls('https://relay.example/market/').config.href).toBe(
      'https://relay.example/market/config.json'
    )
    expect(doctorUrls('http://127.0.0.1:8080/config.json').config.href).toBe(
      'http://127.0.0.1:8080/config.json'
    )
  })

  test('not http(s), or with a password in it: refused before anything is sent', () => {
    expect(() => doctorUrls('relay.example')).toThrow(InvalidDoctorUrlError)
    expect(() => doctorUrls('ftp://relay.example')).toThrow(/not an http\(s\) URL/)
    expect(() => doctorUrls('https://user:secret@relay.example')).toThrow(/user name or password/)
  })
})

describe('fetching /config.json', () => {
  let server: Server
  let origin: string
  beforeAll(async () => {
    server = createServer((req, res) => {
      const send = (status: number, body: string, type = 'application/json'): void => {
        res.writeHead(status, { 'Content-Type': type }).end(body)
      }
      if (req.url === '/ok/config.json') {
        send(
          200,
          JSON.stringify({
            relays: [`/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`],
            iceServers: [],
            version: '9.9.9'
          })
        )
      } else if (req.url === '/html/config.json') send(200, '<!doctype html><html>app</html>', 'text/html')
      else if (req.url === '/invalid/config.json')
        send(200, JSON.stringify({ relays: ['/ip4/1.2.3.4/tcp/1/ws'] }))
      else if (req.url === '/huge/config.json') {
        // no Content-Length: the limit must hold while reading
        res.writeHead(200, { 'Content-Type': 'application/json' })
        const chunk = 'x'.repeat(64 * 1024)
        let sent = 0
        const more = (): void => {
          while (sent <= MAX_CONFIG_BYTES + chunk.length) {
            sent += chunk.length
            if (!res.write(chunk)) return void res.once('drain', more)
          }
          res.end()
        }
        more()
      } else if (req.url === '/slow/config.json') {
        // never answers
      } else send(404, 'Not found\n', 'text/plain')
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    origin = `http://127.0.0.1:${typeof address === 'object' && address != null ? address.port : 0}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })

  const fetchAt = async (path: string, timeoutMs?: number) =>
    await fetchConfig(new URL(`${origin}${path}/config.json`), timeoutMs != null ? { timeoutMs } : {})

  test('a valid one: parsed with the runtime config parser, summarised', async () => {
    const { check, config } = await fetchAt('/ok')
    expect(config?.relays).toHaveLength(1)
    expect(check).toMatchObject({
      status: 'ok',
      message: 'valid: 1 relay address, 0 ICE server URLs, relay version 9.9.9',
      details: { httpStatus: 200, version: '9.9.9' }
    })
  })

  test('HTTP errors, HTML, invalid contents, too large, too slow: failed, each saying why', async () => {
    expect((await fetchAt('/missing')).check).toMatchObject({
      status: 'failed',
      message: 'GET /missing/config.json answered HTTP 404 Not Found',
      hint: expect.stringContaining("relay's URL") as string
    })
    expect((await fetchAt('/html')).check).toMatchObject({
      status: 'failed',
      message: '/html/config.json is not JSON (it starts with "<!doctype html><html>app</html>")',
      hint: expect.stringMatching(/^an HTML page came back/) as string
    })
    expect((await fetchAt('/invalid')).check).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(
        /is not a valid runtime config: .*relays\[0\].*no \/p2p\/<peer id>/
      ) as string
    })
    expect((await fetchAt('/huge')).check).toMatchObject({
      status: 'failed',
      message: '/huge/config.json is larger than 1024 KiB'
    })
    expect((await fetchAt('/slow', 300)).check).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/^no answer from 127\.0\.0\.1:\d+ in 0\.3 s$/) as string
    })
  })
})
