/**
 * The OpenTelemetry SDK environment variables the relay honours: each parsed, its signal-specific
 * twin winning over it, its flag over both, and a bad value refused with a message naming it.
 */
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base'
import { describe, expect, test } from 'vitest'
import { InvalidRelayConfigError, helpText, parseRelayConfig } from '../../relay/config.ts'
import { createTracerProvider } from '../../src/otel/tracer-provider.ts'
import type { RelayConfig } from '../../relay/config.ts'

const parse = (env: NodeJS.ProcessEnv, argv: string[] = []): RelayConfig => parseRelayConfig(argv, env)!
const refusal = (env: NodeJS.ProcessEnv): string => {
  try {
    parse(env)
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRelayConfigError)
    return (err as Error).message
  }
  throw new Error(`accepted ${JSON.stringify(env)}`)
}

describe('OpenTelemetry SDK environment variables', () => {
  test('OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf by default (the spec), http/json, never grpc', () => {
    expect(parse({}).otlpProtocol).toBe('http/protobuf')
    expect(parse({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).otlpProtocol).toBe('http/json')
    expect(parse({ OTEL_EXPORTER_OTLP_PROTOCOL: ' HTTP/JSON ' }).otlpProtocol).toBe('http/json')
    expect(
      parse({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, ['--otel-protocol', 'http/protobuf']).otlpProtocol
    ).toBe('http/protobuf')
    expect(refusal({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(
      /^OTEL_EXPORTER_OTLP_PROTOCOL \(--otel-protocol\) is grpc, which the relay does not speak: use http\/protobuf .* or http\/json/
    )
    expect(refusal({ OTEL_EXPORTER_OTLP_PROTOCOL: 'protobuf' })).toBe(
      'OTEL_EXPORTER_OTLP_PROTOCOL (--otel-protocol) must be http/protobuf or http/json, got "protobuf"'
    )
  })

  test('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins over OTEL_EXPORTER_OTLP_PROTOCOL', () => {
    const both = {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json'
    }
    expect(parse(both).otlpProtocol).toBe('http/json')
    expect(parse({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).otlpProtocol).toBe('http/json')
    expect(refusal({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toMatch(
      /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL \(--otel-traces-protocol\) is grpc/
    )
    // a bad general value is refused even where the traces one would win: it is still a mistake
    expect(
      refusal({ OTEL_EXPORTER_OTLP_PROTOCOL: 'json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })
    ).toMatch(/^OTEL_EXPORTER_OTLP_PROTOCOL/)
  })

  test('OTEL_EXPORTER_OTLP_COMPRESSION: none by default, gzip', () => {
    expect(parse({}).otlpCompression).toBe('none')
    expect(parse({ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }).otlpCompression).toBe('gzip')
    expect(
      parse({ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, ['--otel-compression', 'none']).otlpCompression
    ).toBe('none')
    expect(refusal({ OTEL_EXPORTER_OTLP_COMPRESSION: 'br' })).toBe(
      'OTEL_EXPORTER_OTLP_COMPRESSION (--otel-compression) must be gzip or none, got "br"'
    )
  })

  test('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION wins over OTEL_EXPORTER_OTLP_COMPRESSION', () => {
    expect(
      parse({ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none' })
        .otlpCompression
    ).toBe('none')
    expect(parse({ OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip' }).otlpCompression).toBe('gzip')
    expect(refusal({ OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'deflate' })).toMatch(
      /^OTEL_EXPORTER_OTLP_TRACES_COMPRESSION \(--otel-traces-compression\) must be gzip or none/
    )
  })

  test('OTEL_EXPORTER_OTLP_TIMEOUT: milliseconds, 10000 by default; also for metrics and logs', () => {
    expect(parse({}).otlpTimeoutMs).toBe(10_000)
    const config = parse({
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://up:4318'
    })
    expect(config.otlpTimeoutMs).toBe(2500)
    expect(config.otlpSignals?.timeoutMs).toBe(2500)
    for (const bad of ['0', '-1', '1.5', '10s', '600001'])
      expect(refusal({ OTEL_EXPORTER_OTLP_TIMEOUT: bad })).toBe(
        `OTEL_EXPORTER_OTLP_TIMEOUT (--otel-timeout) must be a whole number of milliseconds from 1 to 600000, got "${bad}"`
      )
  })

  test('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT wins over OTEL_EXPORTER_OTLP_TIMEOUT, for traces only', () => {
    const config = parse({
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://up:4318'
    })
    expect(config.otlpTimeoutMs).toBe(700)
    expect(config.otlpSignals?.timeoutMs).toBe(2500)
    expect(refusal({ OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'soon' })).toMatch(
      /^OTEL_EXPORTER_OTLP_TRACES_TIMEOUT \(--otel-traces-timeout\) must be a whole number/
    )
  })

  test('OTEL_EXPORTER_OTLP_HEADERS go to every upstream request; values never in a message', () => {
    const config = parse({
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=g3neral%3D,x-team=market',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://up:4318'
    })
    expect(config.otlpHeaders).toEqual({ 'api-key': 'g3neral=', 'x-team': 'market' })
    expect(config.otlpSignals?.headers).toEqual({ 'api-key': 'g3neral=', 'x-team': 'market' })
    const message = refusal({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s3cret%0A' })
    expect(message).toMatch(/^OTEL_EXPORTER_OTLP_HEADERS: the value of header "api-key"/)
    expect(message).not.toContain('s3cret')
  })

  test('OTEL_EXPORTER_OTLP_TRACES_HEADERS win per header (any case) for traces only', () => {
    const config = parse({
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20general,x-team=market',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20traces,x-signal=traces',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://up:4318'
    })
    expect(config.otlpHeaders).toEqual({
      'x-team': 'market',
      authorization: 'Bearer traces',
      'x-signal': 'traces'
    })
    expect(config.otlpSignals?.headers).toEqual({ Authorization: 'Bearer general', 'x-team': 'market' })
    expect(parse({}, ['--otel-traces-headers', 'k=v']).otlpHeaders).toEqual({ k: 'v' })
    const message = refusal({ OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'Bearer-tr4ces-only' })
    expect(message).toMatch(/^OTEL_EXPORTER_OTLP_TRACES_HEADERS: entry 1 is not key=value/)
    expect(message).not.toContain('tr4ces')
  })

  test('OTEL_EXPORTER_OTLP_ENDPOINT also sends /v1/metrics and /v1/logs upstream; the traces endpoint does not', () => {
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://up:4318/otlp/' }).otlpSignals?.endpoint).toBe(
      'http://up:4318/otlp'
    )
    expect(
      parse({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://up:4318/v1/traces' }).otlpSignals
    ).toBeUndefined()
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'up:4318' })).toMatch(
      /^OTEL_EXPORTER_OTLP_ENDPOINT must be an http/
    )
  })

  test("OTEL_RESOURCE_ATTRIBUTES: percent-decoded key=value pairs for the relay's resource", () => {
    expect(parse({}).resourceAttributes).toEqual({})
    expect(
      parse({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team=a%2Cb%3Dc ,host.name=relay-1' })
        .resourceAttributes
    ).toEqual({ 'deployment.environment': 'prod', team: 'a,b=c', 'host.name': 'relay-1' })
    expect(refusal({ OTEL_RESOURCE_ATTRIBUTES: 'a=1,oops' })).toBe(
      'OTEL_RESOURCE_ATTRIBUTES (--otel-resource-attributes): entry 2 ("oops") is not key=value'
    )
    expect(refusal({ OTEL_RESOURCE_ATTRIBUTES: 'a=%E0%A4%A' })).toMatch(
      /^OTEL_RESOURCE_ATTRIBUTES \(--otel-resource-attributes\): entry 1 .* not valid percent-encoding/
    )
  })

  test('OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES, which wins over the default', () => {
    expect(parse({}).serviceName).toBe('p2p-marketplace-relay')
    expect(parse({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' }).serviceName).toBe(
      'from-attributes'
    )
    expect(
      parse({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes', OTEL_SERVICE_NAME: 'from-name' })
        .serviceName
    ).toBe('from-name')
  })

  test('OTEL_SDK_DISABLED: true (any case) or false; anything else is refused', () => {
    expect(parse({}).sdkDisabled).toBe(false)
    expect(parse({ OTEL_SDK_DISABLED: 'TRUE' }).sdkDisabled).toBe(true)
    expect(parse({ OTEL_SDK_DISABLED: 'false' }).sdkDisabled).toBe(false)
    expect(parse({}, ['--otel-sdk-disabled']).sdkDisabled).toBe(true)
    expect(refusal({ OTEL_SDK_DISABLED: 'yes' })).toBe(
      'OTEL_SDK_DISABLED (--otel-sdk-disabled) must be true or false, got "yes"'
    )
  })

  test('--help lists every variable the relay honours', () => {
    for (const name of [
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
      'OTEL_EXPORTER_OTLP_COMPRESSION',
      'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION',
      'OTEL_EXPORTER_OTLP_TIMEOUT',
      'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
      'OTEL_RESOURCE_ATTRIBUTES',
      'OTEL_SDK_DISABLED'
    ])
      expect(helpText()).toMatch(new RegExp(`--otel-[a-z-]+\\s+${name}\\s`))
  })
})

describe("the tracer provider's share", () => {
  test('resource attributes are merged in: service.name by the rule above, service.instance.id the peer id', async () => {
    const exporter = new InMemorySpanExporter()
    const { provider } = createTracerProvider('12D3KooWpeer', {
      exporter,
      serviceName: 'relay-x',
      serviceVersion: '1.2.3',
      resourceAttributes: {
        'deployment.environment': 'prod',
        'service.name': 'ignored',
        'service.instance.id': 'ignored'
      }
    })
    provider.getTracer('t').startSpan('s').end()
    await provider.forceFlush()
    expect(exporter.getFinishedSpans()[0]!.resource.attributes).toEqual({
      'deployment.environment': 'prod',
      'service.name': 'relay-x',
      'service.version': '1.2.3',
      'service.instance.id': '12D3KooWpeer'
    })
    await provider.shutdown()
  })

  test('disabled: spans are not recording and nothing is exported', async () => {
    const exporter = new InMemorySpanExporter()
    const { provider } = createTracerProvider('12D3KooWpeer', { exporter, disabled: true })
    const span = provider.getTracer('t').startSpan('s')
    expect(span.isRecording()).toBe(false)
    span.end()
    await provider.forceFlush()
    expect(exporter.getFinishedSpans()).toEqual([])
    await provider.shutdown()
  })
})
