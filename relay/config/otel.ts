/**
 * The relay's OpenTelemetry settings, as the SDK environment specification names them
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/ and
 * https://opentelemetry.io/docs/specs/otel/protocol/exporter/): where and how what the relay
 * exports goes upstream, its resource, and whether it traces at all. A signal-specific variable
 * (`…_TRACES_…`) wins over the general one; a bad value is refused with a message naming it.
 */
import { checkUpstreamHeaders } from '../collector/forwarder.ts'
import { InvalidRelayConfigError } from './errors.ts'
import { OPTIONS } from './options.ts'
import type { OtlpCompression, OtlpHttpProtocol } from '../collector/forwarder.ts'
import type { OptionName } from './options.ts'

/** Where `/v1/metrics` and `/v1/logs` go: the upstream's base URL and general headers. */
export interface OtlpSignalsUpstream {
  endpoint: string
  headers: Record<string, string>
  timeoutMs: number
}

/** What the OpenTelemetry variables come to (fields of `RelayConfig`). */
export interface OtelSettings {
  otlpTracesEndpoint?: string
  /** `OTEL_EXPORTER_OTLP_HEADERS` with `OTEL_EXPORTER_OTLP_TRACES_HEADERS` over it. */
  otlpHeaders: Record<string, string>
  otlpProtocol: OtlpHttpProtocol
  otlpCompression: OtlpCompression
  otlpTimeoutMs: number
  otlpSignals?: OtlpSignalsUpstream
  resourceAttributes: Record<string, string>
  serviceName: string
  sdkDisabled: boolean
}

/** How a setting is read: flag, else variable, else (with `defaults`) the table's default. */
export type SettingReader = (name: OptionName, defaults?: boolean) => string | undefined

const DEFAULT_SERVICE_NAME = 'p2p-marketplace-relay'
const MAX_TIMEOUT_MS = 600_000

/** `ENV (--flag)`, as messages name a setting. */
function label(name: OptionName): string {
  const spec = OPTIONS[name]
  return 'env' in spec ? `${spec.env} (--${name})` : `--${name}`
}

export function parseOtelSettings(read: SettingReader): OtelSettings {
  const base = read('otel-endpoint')
  const traces = read('otel-traces-endpoint')
  const generalHeaders = parseHeaders(read('otel-headers'))
  const headers = mergeHeaders(
    generalHeaders,
    parseHeaders(read('otel-traces-headers'), 'OTEL_EXPORTER_OTLP_TRACES_HEADERS')
  )
  const timeoutMs = parseTimeout('otel-timeout', read('otel-timeout'))
  const protocol = parseProtocol('otel-protocol', read('otel-protocol'))
  const compression = parseCompression('otel-compression', read('otel-compression'))
  const resourceAttributes = parseResourceAttributes(read('otel-resource-attributes'))
  const baseUrl =
    base != null ? parseHttpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base).replace(/\/+$/, '') : undefined
  // standard OTLP semantics: the base endpoint gets the signal path appended, the signal's is used as is
  const tracesUrl =
    traces != null
      ? parseHttpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces)
      : baseUrl != null
        ? parseHttpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', `${baseUrl}/v1/traces`)
        : undefined
  return {
    ...(tracesUrl != null ? { otlpTracesEndpoint: tracesUrl } : {}),
    otlpHeaders: headers,
    // the general values are checked even where the traces ones win: a bad one is still a mistake
    otlpProtocol:
      parseProtocol('otel-traces-protocol', read('otel-traces-protocol', false)) ??
      protocol ??
      'http/protobuf',
    otlpCompression:
      parseCompression('otel-traces-compression', read('otel-traces-compression', false)) ??
      compression ??
      'none',
    otlpTimeoutMs:
      parseTimeout('otel-traces-timeout', read('otel-traces-timeout', false)) ?? timeoutMs ?? 10_000,
    ...(baseUrl != null
      ? { otlpSignals: { endpoint: baseUrl, headers: generalHeaders, timeoutMs: timeoutMs ?? 10_000 } }
      : {}),
    resourceAttributes,
    // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES
    serviceName: read('service-name', false) ?? resourceAttributes['service.name'] ?? DEFAULT_SERVICE_NAME,
    sdkDisabled: parseSdkDisabled(read('otel-sdk-disabled'))
  }
}

/** `value` as an http(s) URL, or `InvalidRelayConfigError` naming `name`. */
export function parseHttpUrl(name: string, value: string): string {
  try {
    const url = new URL(value)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)')
    return url.href
  } catch {
    throw new InvalidRelayConfigError(`${name} must be an http(s) URL, got "${value}"`)
  }
}

/** `http/protobuf` or `http/json`; `grpc` is refused, saying what to use instead. */
export function parseProtocol(name: OptionName, value: string | undefined): OtlpHttpProtocol | undefined {
  if (value == null) return undefined
  const protocol = value.trim().toLowerCase()
  if (protocol === 'http/protobuf' || protocol === 'http/json') return protocol
  if (protocol === 'grpc')
    throw new InvalidRelayConfigError(
      `${label(name)} is grpc, which the relay does not speak: use http/protobuf (the default) or http/json, and the upstream's OTLP/HTTP port (4318, not gRPC's 4317)`
    )
  throw new InvalidRelayConfigError(`${label(name)} must be http/protobuf or http/json, got "${value}"`)
}

export function parseCompression(name: OptionName, value: string | undefined): OtlpCompression | undefined {
  if (value == null) return undefined
  const compression = value.trim().toLowerCase()
  if (compression === 'gzip' || compression === 'none') return compression
  throw new InvalidRelayConfigError(`${label(name)} must be gzip or none, got "${value}"`)
}

/** Milliseconds each export may take, 1 to 600000. */
export function parseTimeout(name: OptionName, value: string | undefined): number | undefined {
  if (value == null) return undefined
  const ms = Number(value.trim())
  if (!/^\d+$/.test(value.trim()) || ms < 1 || ms > MAX_TIMEOUT_MS)
    throw new InvalidRelayConfigError(
      `${label(name)} must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got "${value}"`
    )
  return ms
}

/** `true` or `false` (any case; empty is false), as the specification's booleans. */
export function parseSdkDisabled(value: string | undefined): boolean {
  const lower = (value ?? '').trim().toLowerCase()
  if (lower === 'true') return true
  if (lower === 'false' || lower === '') return false
  throw new InvalidRelayConfigError(`${label('otel-sdk-disabled')} must be true or false, got "${value}"`)
}

/**
 * `OTEL_EXPORTER_OTLP_HEADERS` format (also `…_TRACES_HEADERS`, named by `name`): comma-separated
 * `key=value`, values URL-encoded. Values are credentials: no message quotes one.
 */
export function parseHeaders(
  value: string | undefined,
  name = 'OTEL_EXPORTER_OTLP_HEADERS'
): Record<string, string> {
  const headers: Record<string, string> = {}
  if (value == null || value.trim() === '') return headers
  const bad = (why: string): InvalidRelayConfigError => new InvalidRelayConfigError(`${name}: ${why}`)
  value.split(',').forEach((pair, i) => {
    const at = pair.indexOf('=')
    if (at <= 0) throw bad(`entry ${i + 1} is not key=value (entry not shown: it may hold a credential)`)
    const key = pair.slice(0, at).trim()
    try {
      headers[decodeURIComponent(key)] = decodeURIComponent(pair.slice(at + 1).trim())
    } catch {
      throw bad(`the value of "${key}" is not valid URL encoding (value not shown)`)
    }
  })
  try {
    checkUpstreamHeaders(headers)
  } catch (err) {
    throw bad((err as Error).message)
  }
  return headers
}

/** `general` with `specific` over it, header names compared without case, as HTTP does. */
export function mergeHeaders(
  general: Record<string, string>,
  specific: Record<string, string>
): Record<string, string> {
  const overridden = new Set(Object.keys(specific).map(key => key.toLowerCase()))
  return {
    ...Object.fromEntries(Object.entries(general).filter(([key]) => !overridden.has(key.toLowerCase()))),
    ...specific
  }
}

/**
 * `OTEL_RESOURCE_ATTRIBUTES`: comma-separated `key=value`, keys and values percent-decoded
 * (W3C Baggage without properties); every value is a string.
 */
export function parseResourceAttributes(value: string | undefined): Record<string, string> {
  const attributes: Record<string, string> = {}
  if (value == null || value.trim() === '') return attributes
  const name = label('otel-resource-attributes')
  value.split(',').forEach((pair, i) => {
    const at = pair.indexOf('=')
    const key = at > 0 ? pair.slice(0, at).trim() : ''
    if (key === '')
      throw new InvalidRelayConfigError(`${name}: entry ${i + 1} ("${pair.trim()}") is not key=value`)
    try {
      attributes[decodeURIComponent(key)] = decodeURIComponent(pair.slice(at + 1).trim())
    } catch {
      throw new InvalidRelayConfigError(
        `${name}: entry ${i + 1} ("${pair.trim()}") is not valid percent-encoding (encode , = and % as %2C %3D %25)`
      )
    }
  })
  return attributes
}
