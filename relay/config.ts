import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { WebSockets, WebSocketsSecure } from '@multiformats/multiaddr-matcher'
import { parseAnnounceAddrs, parsePublicOrigins } from './config/addresses.ts'
import { InvalidRelayConfigError } from './config/errors.ts'
import { parseIceSettings } from './config/ice-servers.ts'
import { OPTIONS, helpText } from './config/options.ts'
import { parseHttpUrl, parseOtelSettings } from './config/otel.ts'
import type { IceSettings } from './config/ice-servers.ts'
import type { OptionName } from './config/options.ts'
import type { OtlpSignalsUpstream } from './config/otel.ts'
import type { OtlpCompression, OtlpHttpProtocol } from './collector/forwarder.ts'
import type { Multiaddr } from '@multiformats/multiaddr'
import { parseByteSize } from './config/sizes.ts'

export { InvalidRelayConfigError } from './config/errors.ts'
export { helpText } from './config/options.ts'
export { parseHeaders } from './config/otel.ts'

/** Configuration of the relay, from the environment and command-line flags (flags win). */
export interface RelayConfig {
  /** HTTP port: web app, runtime config and the embedded collector. */
  port: number
  /** libp2p WebSockets port. */
  relayPort: number
  /** Interface both listen on. */
  host: string
  /**
   * Multiaddrs browsers get and identify advertises instead of the listen
   * addresses (`ANNOUNCE_ADDRS`), without `/p2p/<id>` or with the relay's own.
   */
  announceAddrs?: string[]
  /**
   * Origins people reach the web side at (`PUBLIC_ORIGINS`): same-origin checks and
   * handed-out URLs. Unset: the listen address (see `defaultPublicOrigins`).
   */
  publicOrigins?: string[]
  /** PEM files (`TLS_CERT`, `TLS_KEY`): HTTPS on `port`, WSS on `relayPort`, re-read when they change. */
  tls?: { certFile: string; keyFile: string }
  /** Honour `X-Forwarded-Proto` / `X-Forwarded-Host` naming a public origin (`TRUST_PROXY`). */
  trustProxy?: boolean
  /** STUN/TURN servers for browsers' WebRTC, and TURN credentials (`ICE_SERVERS`, `TURN_SECRET`, `TURN_TTL`). */
  ice?: IceSettings
  /** Identity key and datastore. */
  dataDir: string
  /**
   * Other relays to keep connected (multiaddrs ending in `/p2p/<peer id>`):
   * packages, catalogs and DHT records flow between peered relays. None by default.
   */
  relayPeers?: string[]
  /** Upstream OTLP/HTTP traces endpoint (full URL), if any. */
  otlpTracesEndpoint?: string
  /** Headers for the upstream traces endpoint (general and traces-specific, merged); never sent to browsers. */
  otlpHeaders: Record<string, string>
  /** How spans go upstream (`OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`). @default 'http/protobuf' */
  otlpProtocol?: OtlpHttpProtocol
  /** `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION`. @default 'none' */
  otlpCompression?: OtlpCompression
  /** Time the upstream has to answer one export, in ms (`OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`). @default 10000 */
  otlpTimeoutMs?: number
  /** Where `/v1/metrics` and `/v1/logs` are passed on (`OTEL_EXPORTER_OTLP_ENDPOINT`); unset, they get 404. */
  otlpSignals?: OtlpSignalsUpstream
  /** Added to the relay's resource (`OTEL_RESOURCE_ATTRIBUTES`); its own identity attributes win. */
  resourceAttributes?: Record<string, string>
  /** `OTEL_SDK_DISABLED`: no spans of its own, nothing upstream; the collector still works. @default false */
  sdkDisabled?: boolean
  serviceName: string
  /** Directory of the built web app. */
  staticDir: string
  /** Origins of sites that embed the widget: allowed to export to and query the collector. */
  embedOrigins: string[]
  /** Jaeger UI base URL: the trace panel links each trace to `<url>/trace/<trace id>`. */
  jaegerUiUrl?: string
  /**
   * Where domain namespaces list their publisher keys (`NAME_PROOF_URL`, `{domain}` replaced);
   * unset, `https://{domain}/.well-known/p2p-marketplace.json`, read only from public addresses.
   */
  nameProofUrl?: string
  /**
   * Secret that clients without a browser `Origin` (tools, Node peers) present as
   * `Authorization: Bearer <token>` to the collector of a public relay (`COLLECTOR_TOKEN`).
   */
  collectorToken?: string
  /**
   * Package content the relay keeps, in bytes: in all, per artifact, and per publisher key
   * (`CONTENT_QUOTA`, `CONTENT_MAX_BYTES`, `CONTENT_QUOTA_PER_PUBLISHER`).
   */
  content: { quota: number; maxBytes: number; perPublisher: number }
}

/** Parses flags and environment into a validated configuration; `undefined` means `--help` was asked. */
export function parseRelayConfig(argv: string[], env: NodeJS.ProcessEnv): RelayConfig | undefined {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(OPTIONS).map(([name, spec]) => [
          name,
          { type: spec.type, ...('short' in spec ? { short: spec.short } : {}) }
        ])
      ),
      strict: true,
      allowPositionals: false
    }).values
  } catch (err) {
    throw new InvalidRelayConfigError(`${(err as Error).message}\n\n${helpText()}`)
  }
  if (values.help === true) return undefined

  /** A flag, else its variable, else (unless `defaults` is false) the table's default. */
  const get = (name: OptionName, defaults = true): string | undefined => {
    const spec = OPTIONS[name]
    const flag = values[name]
    if (typeof flag === 'string') return flag
    if (flag === true) return 'true'
    const fromEnv = 'env' in spec ? env[spec.env] : undefined
    if (fromEnv != null && fromEnv !== '') return fromEnv
    return defaults && 'default' in spec ? spec.default : undefined
  }

  const port = parsePort('PORT (--port)', get('port'))
  const relayPort = parsePort('RELAY_PORT (--relay-port)', get('relay-port'))
  if (port !== 0 && port === relayPort) {
    throw new InvalidRelayConfigError(`PORT and RELAY_PORT must differ (both are ${port})`)
  }
  const host = get('host') ?? '127.0.0.1'
  if (!/^[\w.:-]+$/.test(host)) {
    throw new InvalidRelayConfigError(`HOST (--host) "${host}" is not a host name or IP address`)
  }

  const tls = parseTls(get('tls-cert'), get('tls-key'))
  const publicOrigins = parsePublicOrigins(get('public-origins'))
  const jaegerUiUrl = get('jaeger-ui-url')
  const nameProofUrl = get('name-proof-url')
  if (nameProofUrl != null && !nameProofUrl.includes('{domain}'))
    throw new InvalidRelayConfigError(
      `NAME_PROOF_URL (--name-proof-url) "${nameProofUrl}" must contain {domain}, e.g. https://{domain}/.well-known/p2p-marketplace.json`
    )
  if (nameProofUrl != null) parseHttpUrl('NAME_PROOF_URL', nameProofUrl.replace('{domain}', 'example.com'))
  const collectorToken = get('collector-token')
  if (collectorToken != null && !/^[\x21-\x7e]{16,256}$/.test(collectorToken)) {
    throw new InvalidRelayConfigError(
      'COLLECTOR_TOKEN (--collector-token) must be 16 to 256 printable ASCII characters without spaces (e.g. from "openssl rand -hex 32")'
    )
  }
  return {
    port,
    relayPort,
    host,
    announceAddrs: parseAnnounceAddrs(get('announce-addrs')),
    ...(publicOrigins != null ? { publicOrigins } : {}),
    ...(tls != null ? { tls } : {}),
    trustProxy: parseSwitch('TRUST_PROXY (--trust-proxy)', get('trust-proxy')),
    ice: parseIceSettings(get('ice-servers'), get('turn-secret'), get('turn-ttl')),
    dataDir: resolve(get('data-dir') ?? './.data'),
    relayPeers: parseRelayPeers(get('relay-peers')),
    ...parseOtelSettings(get),
    staticDir: resolve(get('static-dir') ?? './dist'),
    embedOrigins: parseOrigins(get('embed-origins')),
    ...(jaegerUiUrl != null ? { jaegerUiUrl: parseHttpUrl('JAEGER_UI_URL', jaegerUiUrl) } : {}),
    ...(nameProofUrl != null ? { nameProofUrl } : {}),
    ...(collectorToken != null ? { collectorToken } : {}),
    content: {
      quota: parseByteSize('CONTENT_QUOTA (--content-quota)', get('content-quota')),
      maxBytes: parseByteSize('CONTENT_MAX_BYTES (--content-max-bytes)', get('content-max-bytes')),
      perPublisher: parseByteSize(
        'CONTENT_QUOTA_PER_PUBLISHER (--content-quota-per-publisher)',
        get('content-quota-per-publisher')
      )
    }
  }
}

/** Both PEM files or neither; their contents are checked when the relay loads them (`relay/tls.ts`). */
function parseTls(certFile: string | undefined, keyFile: string | undefined): RelayConfig['tls'] | undefined {
  if (certFile == null && keyFile == null) return undefined
  if (certFile == null || keyFile == null) {
    const [given, missing] = certFile == null ? ['TLS_KEY', 'TLS_CERT'] : ['TLS_CERT', 'TLS_KEY']
    throw new InvalidRelayConfigError(
      `${given} is set but ${missing} is not: give both the PEM certificate (TLS_CERT, --tls-cert) and its private key (TLS_KEY, --tls-key)`
    )
  }
  return { certFile: resolve(certFile), keyFile: resolve(keyFile) }
}

/** `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (a boolean flag arrives as `true`). */
function parseSwitch(name: string, value: string | undefined): boolean {
  if (value == null) return false
  const lower = value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true
  if (['0', 'false', 'no', 'off', ''].includes(lower)) return false
  throw new InvalidRelayConfigError(`${name} must be 1 or true (0 or false to turn it off), got "${value}"`)
}

function parsePort(name: string, value: string | undefined): number {
  const port = Number(value)
  if (value == null || !/^\d+$/.test(value) || port > 65535) {
    throw new InvalidRelayConfigError(`${name} must be a whole number from 0 to 65535, got "${value}"`)
  }
  return port
}

/**
 * `RELAY_PEERS`: comma-separated multiaddrs of other relays. Each must name its
 * peer id (`/p2p/<id>`, so a dial cannot reach an impostor) and be a direct
 * WebSockets address: relays dial each other with the one transport they run,
 * and never through a circuit, whose connections are time- and data-limited.
 */
export function parseRelayPeers(value: string | undefined): string[] {
  if (value == null || value.trim() === '') return []
  const entries = value
    .split(',')
    .map(entry => entry.trim())
    .filter(entry => entry !== '')
  return entries.map(entry => {
    const bad = (why: string): InvalidRelayConfigError =>
      new InvalidRelayConfigError(
        `RELAY_PEERS (--relay-peers): "${entry}" ${why}; expected comma-separated multiaddrs such as /ip4/10.0.0.2/tcp/9090/ws/p2p/12D3KooW…`
      )
    let ma: Multiaddr
    try {
      ma = multiaddr(entry)
    } catch (err) {
      throw bad(`is not a multiaddr (${(err as Error).message})`)
    }
    const components = ma.getComponents()
    if (components.some(c => c.name === 'p2p-circuit')) {
      throw bad("is a relayed (/p2p-circuit) address; give the relay's own address")
    }
    const last = components.at(-1)
    if (last?.name !== 'p2p' || last.value == null) {
      throw bad('does not end in /p2p/<peer id> (the relay prints its full addresses at start-up)')
    }
    try {
      peerIdFromString(last.value)
    } catch {
      throw bad(`has "${last.value}", which is not a peer id`)
    }
    if (!WebSockets.matches(ma) && !WebSocketsSecure.matches(ma)) {
      throw bad(
        'is not a WebSockets address (…/tcp/<port>/ws or /wss); relays dial each other over WebSockets'
      )
    }
    return ma.toString()
  })
}

function parseOrigins(value: string | undefined): string[] {
  if (value == null || value.trim() === '') return []
  return value.split(',').map(origin => {
    const trimmed = origin.trim()
    if (trimmed === '*') return trimmed
    try {
      const url = new URL(trimmed)
      if (url.origin !== trimmed.replace(/\/$/, '')) throw new Error('not an origin')
      return url.origin
    } catch {
      throw new InvalidRelayConfigError(
        `EMBED_ORIGINS: "${trimmed}" is not an origin such as https://shop.example`
      )
    }
  })
}
