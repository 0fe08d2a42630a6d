import { describe, expect, test } from 'vitest'
import { InvalidRelayConfigError, helpText, parseHeaders, parseRelayConfig } from '../../relay/config.ts'
import { defaultPublicOrigins } from '../../relay/config/addresses.ts'
import { configWarnings } from '../../relay/config/warnings.ts'
import type { RelayConfig } from '../../relay/config.ts'

describe('relay configuration', () => {
  test('defaults match the contract', () => {
    const config = parseRelayConfig([], {})
    expect(config).toMatchObject({
      port: 8080,
      relayPort: 9090,
      host: '127.0.0.1',
      serviceName: 'p2p-marketplace-relay',
      otlpHeaders: {}
    })
    expect(config?.dataDir).toMatch(/\.data$/)
    expect(config?.otlpTracesEndpoint).toBeUndefined()
  })

  test('content quota, per-artifact and per-publisher limits: bytes or binary units, 10 GiB, 100 MiB and 1 GiB by default', () => {
    expect(parseRelayConfig([], {})?.content).toEqual({
      quota: 10 * 1024 ** 3,
      maxBytes: 100 * 1024 ** 2,
      perPublisher: 1024 ** 3
    })
    expect(
      parseRelayConfig(['--content-max-bytes', '512KiB'], {
        CONTENT_QUOTA: '2 TiB',
        CONTENT_QUOTA_PER_PUBLISHER: '3MiB'
      })?.content
    ).toEqual({ quota: 2 * 1024 ** 4, maxBytes: 512 * 1024, perPublisher: 3 * 1024 ** 2 })
    expect(parseRelayConfig([], { CONTENT_QUOTA: '1048576' })?.content.quota).toBe(1048576)
    for (const bad of ['10GB', '-1', '1.5GiB', 'lots'])
      expect(() => parseRelayConfig([], { CONTENT_QUOTA: bad })).toThrow(
        `CONTENT_QUOTA (--content-quota) must be a number of bytes, optionally with KiB, MiB, GiB or TiB (e.g. 10GiB), got "${bad}"`
      )
  })

  test('flags win over environment variables', () => {
    const config = parseRelayConfig(['--port', '9000', '--data-dir=/tmp/x'], {
      PORT: '7000',
      RELAY_PORT: '7001',
      DATA_DIR: '/tmp/y'
    })
    expect(config).toMatchObject({ port: 9000, relayPort: 7001, dataDir: '/tmp/x' })
  })

  test('the OTLP base endpoint gets /v1/traces appended, the traces endpoint is used as is', () => {
    expect(
      parseRelayConfig([], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })?.otlpTracesEndpoint
    ).toBe('http://collector:4318/v1/traces')
    expect(
      parseRelayConfig([], {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/otlp/traces'
      })?.otlpTracesEndpoint
    ).toBe('https://b/otlp/traces')
  })

  test('a Jaeger UI URL is checked and handed to browsers for "Open in Jaeger"', () => {
    expect(parseRelayConfig([], {})?.jaegerUiUrl).toBeUndefined()
    expect(parseRelayConfig(['--jaeger-ui-url', 'http://127.0.0.1:16686'], {})?.jaegerUiUrl).toBe(
      'http://127.0.0.1:16686/'
    )
    expect(() => parseRelayConfig([], { JAEGER_UI_URL: 'jaeger:16686' })).toThrow(
      /JAEGER_UI_URL must be an http\(s\) URL/
    )
  })

  test('a collector token is 16 to 256 printable characters; none by default', () => {
    expect(parseRelayConfig([], {})?.collectorToken).toBeUndefined()
    const token = 'a'.repeat(64)
    expect(parseRelayConfig([], { COLLECTOR_TOKEN: token })?.collectorToken).toBe(token)
    for (const bad of ['short', 'has a space in it!', 'x'.repeat(257), 'line\nbreak-0123456789'])
      expect(() => parseRelayConfig(['--collector-token', bad], {})).toThrow(/COLLECTOR_TOKEN .* 16 to 256/)
  })

  test('OTLP headers are parsed as comma-separated, URL-encoded key=value pairs', () => {
    expect(parseHeaders('api-key=abc%3D1, x-team = marketplace')).toEqual({
      'api-key': 'abc=1',
      'x-team': 'marketplace'
    })
    expect(() => parseHeaders('novalue')).toThrow(/not key=value/)
  })

  test.each([
    [['--port', 'eighty'], {}, /PORT \(--port\) must be a whole number/],
    [[], { RELAY_PORT: '70000' }, /RELAY_PORT \(--relay-port\) must be a whole number/],
    [[], { PORT: '9000', RELAY_PORT: '9000' }, /must differ/],
    [[], { HOST: 'bad host!' }, /HOST \(--host\)/],
    [[], { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }, /must be an http\(s\) URL/],
    [['--bogus'], {}, /Unknown option '--bogus'/]
  ])('bad configuration %j %j is refused with a message naming it', (argv, env, message) => {
    expect(() => parseRelayConfig(argv, env)).toThrow(InvalidRelayConfigError)
    expect(() => parseRelayConfig(argv, env)).toThrow(message)
  })

  test('--help is recognised and lists every variable', () => {
    expect(parseRelayConfig(['--help'], {})).toBeUndefined()
    for (const name of [
      'PORT',
      'RELAY_PORT',
      'HOST',
      'DATA_DIR',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_SERVICE_NAME',
      'ANNOUNCE_ADDRS',
      'PUBLIC_ORIGINS',
      'TLS_CERT',
      'TLS_KEY',
      'TRUST_PROXY',
      'ICE_SERVERS',
      'TURN_SECRET',
      'TURN_TTL'
    ]) {
      expect(helpText()).toContain(name)
    }
  })
})

describe('RELAY_PEERS', () => {
  const id = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
  const other = '12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5'

  test('none by default; a flag or the variable gives comma-separated multiaddrs of other relays', () => {
    expect(parseRelayConfig([], {})?.relayPeers).toEqual([])
    expect(
      parseRelayConfig([], {
        RELAY_PEERS: ` /ip4/10.0.0.2/tcp/9090/ws/p2p/${id} ,/dns4/relay-b.example.com/tcp/443/wss/p2p/${other},`
      })?.relayPeers
    ).toEqual([`/ip4/10.0.0.2/tcp/9090/ws/p2p/${id}`, `/dns4/relay-b.example.com/tcp/443/wss/p2p/${other}`])
    expect(
      parseRelayConfig(['--relay-peers', `/ip6/::1/tcp/9091/ws/p2p/${id}`], { RELAY_PEERS: 'ignored' })
        ?.relayPeers
    ).toEqual([`/ip6/::1/tcp/9091/ws/p2p/${id}`])
    expect(helpText()).toMatch(/--relay-peers\s+RELAY_PEERS\s+other relays to peer with/)
  })

  test.each([
    ['relay-b:9090', /"relay-b:9090" is not a multiaddr/],
    ['/ip4/10.0.0.2/tcp/9090/ws', /does not end in \/p2p\/<peer id>/],
    [
      `/ip4/10.0.0.2/tcp/9090/ws/p2p/${id}/p2p-circuit/p2p/${other}`,
      /is a relayed \(\/p2p-circuit\) address/
    ],
    ['/ip4/10.0.0.2/tcp/9090/ws/p2p/not-a-peer-id', /which is not a peer id/],
    [`/ip4/10.0.0.2/tcp/9090/p2p/${id}`, /is not a WebSockets address/],
    [`/ip4/10.0.0.2/tcp/9090/ws/p2p/${id},nonsense`, /"nonsense" is not a multiaddr/]
  ])('%s is refused with a message naming RELAY_PEERS and the entry', (value, message) => {
    expect(() => parseRelayConfig([], { RELAY_PEERS: value })).toThrow(InvalidRelayConfigError)
    expect(() => parseRelayConfig([], { RELAY_PEERS: value })).toThrow(/^RELAY_PEERS \(--relay-peers\): /)
    expect(() => parseRelayConfig([], { RELAY_PEERS: value })).toThrow(message)
  })
})

/** Expects the configuration to be refused with an `InvalidRelayConfigError` matching every pattern. */
function refused(argv: string[], env: NodeJS.ProcessEnv, ...messages: RegExp[]): void {
  let error: unknown
  try {
    parseRelayConfig(argv, env)
  } catch (err) {
    error = err
  }
  expect(error).toBeInstanceOf(InvalidRelayConfigError)
  for (const message of messages) expect((error as Error).message).toMatch(message)
}

describe('ANNOUNCE_ADDRS', () => {
  const id = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

  test('none by default (the listen addresses); ws and wss multiaddrs, with or without /p2p/<id>', () => {
    expect(parseRelayConfig([], {})?.announceAddrs).toEqual([])
    expect(
      parseRelayConfig([], {
        ANNOUNCE_ADDRS: ` /dns4/relay.example.com/tcp/443/wss, /dns4/relay.example.com/tcp/443/tls/ws ,/ip4/203.0.113.7/tcp/9090/ws/p2p/${id}`
      })?.announceAddrs
    ).toEqual([
      '/dns4/relay.example.com/tcp/443/wss',
      '/dns4/relay.example.com/tcp/443/tls/ws',
      `/ip4/203.0.113.7/tcp/9090/ws/p2p/${id}`
    ])
    expect(
      parseRelayConfig(['--announce-addrs', '/dns6/relay.example.com/tcp/8443/wss'], {})?.announceAddrs
    ).toEqual(['/dns6/relay.example.com/tcp/8443/wss'])
  })

  test.each([
    ['relay.example.com:443', /"relay.example.com:443" is not a multiaddr/],
    ['/dns4/relay.example.com/tcp/443', /is not a WebSockets address/],
    ['/ip4/203.0.113.7/udp/443/quic-v1', /is not a WebSockets address/],
    [`/ip4/203.0.113.7/tcp/9090/ws/p2p/${id}/p2p-circuit`, /is a relayed \(\/p2p-circuit\) address/]
  ])('%s is refused with a message naming ANNOUNCE_ADDRS and the entry', (value, message) => {
    refused([], { ANNOUNCE_ADDRS: value }, /^ANNOUNCE_ADDRS \(--announce-addrs\): /, message)
  })
})

describe('PUBLIC_ORIGINS', () => {
  test('unset by default; origins are normalised', () => {
    expect(parseRelayConfig([], {})?.publicOrigins).toBeUndefined()
    expect(
      parseRelayConfig([], { PUBLIC_ORIGINS: 'https://Market.Test:443/, http://127.0.0.1:8080' })
        ?.publicOrigins
    ).toEqual(['https://market.test', 'http://127.0.0.1:8080'])
    expect(parseRelayConfig(['--public-origins', 'https://a.test:8443'], {})?.publicOrigins).toEqual([
      'https://a.test:8443'
    ])
  })

  test.each([
    ['market.test', /"market.test" is not a URL/],
    ['ftp://market.test', /is not an http or https origin/],
    ['*', /"\*" is not a URL/],
    ['https://market.test/app', /has a path, query or fragment/],
    ['https://market.test/?x=1', /has a path, query or fragment/],
    ['https://market.test#top', /has a path, query or fragment/],
    ['https://user:pw@market.test', /has a user name or password/]
  ])('%s is refused with a message naming PUBLIC_ORIGINS and the entry', (value, message) => {
    refused([], { PUBLIC_ORIGINS: value }, /^PUBLIC_ORIGINS \(--public-origins\): /, message)
  })

  test('the default is the listen address (https with TLS); on loopback also localhost', () => {
    expect(defaultPublicOrigins('127.0.0.1', 8080, false)).toEqual([
      'http://127.0.0.1:8080',
      'http://localhost:8080'
    ])
    expect(defaultPublicOrigins('::1', 8443, true)).toEqual(['https://[::1]:8443', 'https://localhost:8443'])
    expect(defaultPublicOrigins('192.0.2.10', 443, true)).toEqual(['https://192.0.2.10'])
    // a wildcard HOST: the loopback address among the interface addresses; never a DNS name but localhost
    const wildcard = defaultPublicOrigins('0.0.0.0', 8080, false)
    expect(wildcard).toContain('http://127.0.0.1:8080')
    expect(wildcard).toContain('http://localhost:8080')
    expect(wildcard.every(o => /^http:\/\/(localhost|[\d.]+):8080$/.test(o))).toBe(true)
  })
})

describe('TRUST_PROXY', () => {
  test('TRUST_PROXY is off by default; 1, true or the bare flag turn it on', () => {
    expect(parseRelayConfig([], {})?.trustProxy).toBe(false)
    expect(parseRelayConfig([], { TRUST_PROXY: '1' })?.trustProxy).toBe(true)
    expect(parseRelayConfig([], { TRUST_PROXY: 'true' })?.trustProxy).toBe(true)
    expect(parseRelayConfig([], { TRUST_PROXY: '0' })?.trustProxy).toBe(false)
    expect(parseRelayConfig(['--trust-proxy'], {})?.trustProxy).toBe(true)
    refused([], { TRUST_PROXY: 'sometimes' }, /TRUST_PROXY \(--trust-proxy\) must be 1 or true.*"sometimes"/)
  })
})

describe('ICE_SERVERS, TURN_SECRET, TURN_TTL', () => {
  const turnEnv = { ICE_SERVERS: 'turn:turn.example.com:3478', TURN_SECRET: 's3cret' }

  test('none by default; STUN and TURN URLs per RFC 7064/7065, scheme lower-cased', () => {
    expect(parseRelayConfig([], {})?.ice).toEqual({ urls: [] })
    expect(
      parseRelayConfig([], {
        ICE_SERVERS:
          'stun:stun.example.com, STUNS:[2001:db8::1]:5349,turn:198.51.100.7:3478?transport=UDP,turns:turn.example.com?transport=tcp',
        TURN_SECRET: 's3cret'
      })?.ice
    ).toEqual({
      urls: [
        'stun:stun.example.com',
        'stuns:[2001:db8::1]:5349',
        'turn:198.51.100.7:3478?transport=udp',
        'turns:turn.example.com?transport=tcp'
      ],
      turn: { secret: 's3cret', ttlSeconds: 3600 }
    })
    expect(parseRelayConfig(['--turn-ttl', '600'], turnEnv)?.ice?.turn).toEqual({
      secret: 's3cret',
      ttlSeconds: 600
    })
  })

  test.each([
    ['stun://stun.example.com', /has "\/\/"/],
    ['https://stun.example.com', /is not a stun:, stuns:, turn: or turns: URL/],
    ['stun:', /does not have a valid host/],
    ['stun:user@stun.example.com', /does not have a valid host/],
    ['stun:stun.example.com/path', /does not have a valid host/],
    ['stun:stun.example.com:3478?transport=udp', /stun: URLs take none \(RFC 7064\)/],
    ['turn:turn.example.com?transport=sctp', /the only parameter is \?transport=udp or \?transport=tcp/],
    ['turn:turn.example.com:70000', /has port 70000/],
    ['turn:[2001:zz::1]:3478', /which is not an IPv6 address/],
    ['turn:300.1.1.1', /which is not an IPv4 address/]
  ])('%s is refused with a message naming ICE_SERVERS and the entry', (value, message) => {
    refused([], { ICE_SERVERS: value, TURN_SECRET: 'x' }, /^ICE_SERVERS \(--ice-servers\): /, message)
  })

  test('TURN needs a secret (browsers refuse TURN without credentials), a secret needs TURN, TTL is checked', () => {
    refused([], { ICE_SERVERS: 'stun:a.test,turns:b.test' }, /has TURN URLs \(turns:b.test\) but TURN_SECRET/)
    refused([], { ICE_SERVERS: 'stun:a.test', TURN_SECRET: 'x' }, /TURN_SECRET.*no turn: or turns: URL/)
    refused([], { ...turnEnv, TURN_TTL: '1h' }, /TURN_TTL \(--turn-ttl\) must be a whole number.*"1h"/)
    refused([], { ...turnEnv, TURN_TTL: '10' }, /from 60 to 604800, got "10"/)
  })
})

describe('start-up warnings', () => {
  const base = parseRelayConfig([], {}) as RelayConfig

  test('none for the defaults', () => {
    expect(configWarnings(base)).toEqual([])
  })

  test('an https public origin with a plain ws address browsers would be given', () => {
    const https = { ...base, publicOrigins: ['https://market.test'] }
    expect(configWarnings({ ...https, announceAddrs: ['/dns4/market.test/tcp/9090/ws'] })).toEqual([
      expect.stringMatching(
        /ANNOUNCE_ADDRS has plain ws address\(es\) \/dns4\/market.test\/tcp\/9090\/ws.*mixed content/
      )
    ])
    expect(configWarnings(https)).toEqual([expect.stringMatching(/plain ws listen address.*mixed content/)])
    expect(configWarnings({ ...https, announceAddrs: ['/dns4/market.test/tcp/443/wss'] })).toEqual([])
    expect(configWarnings({ ...https, tls: { certFile: '/c', keyFile: '/k' } })).toEqual([])
  })

  test('TRUST_PROXY without PUBLIC_ORIGINS', () => {
    expect(configWarnings({ ...base, trustProxy: true })).toEqual([
      expect.stringMatching(/TRUST_PROXY is on but PUBLIC_ORIGINS is not set/)
    ])
  })
})

describe('TLS_CERT, TLS_KEY', () => {
  test('TLS files come in pairs, as absolute paths', () => {
    expect(parseRelayConfig([], {})?.tls).toBeUndefined()
    expect(parseRelayConfig(['--tls-cert', 'c.pem', '--tls-key', '/etc/k.pem'], {})?.tls).toEqual({
      certFile: expect.stringMatching(/^\/.*\/c\.pem$/) as string,
      keyFile: '/etc/k.pem'
    })
    refused([], { TLS_CERT: '/etc/c.pem' }, /TLS_CERT is set but TLS_KEY is not/)
    refused(['--tls-key', 'k.pem'], {}, /TLS_KEY is set but TLS_CERT is not/)
  })
})
