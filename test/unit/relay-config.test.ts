import { describe, expect, test } from 'vitest'
import { InvalidRelayConfigError, helpText, parseHeaders, parseRelayConfig } from '../../relay/config.ts'

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
      'OTEL_SERVICE_NAME'
    ]) {
      expect(helpText()).toContain(name)
    }
  })
})
