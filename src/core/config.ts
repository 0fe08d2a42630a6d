import { multiaddr } from '@multiformats/multiaddr'
import { InvalidConfigError } from './errors.ts'
import { RUNTIME_CONFIG_PATH } from './constants.ts'
import type { AbortOptions } from '@libp2p/interface'

/**
 * What a relay tells browser nodes at start-up (served at `/config.json`),
 * so nothing about the network is baked into the build.
 */
export interface RuntimeConfig {
  /** Multiaddrs of the relays to bootstrap from, each ending in `/p2p/<relay peer id>`. */
  relays: string[]
  /** ICE servers for WebRTC between tabs; empty on a local network. */
  iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }>
  /** OTLP/HTTP traces endpoint the node exports to, if any. */
  otlpTracesEndpoint?: string
  /** Version of the relay that served this document. */
  version?: string
  /** Jaeger UI base URL, when the operator runs one: traces link to `<url>/trace/<trace id>`. */
  jaegerUrl?: string
  /**
   * Where domain namespaces list their publisher keys, `{domain}` replaced (PROTOCOL.md §3);
   * absent: `https://{domain}/.well-known/p2p-marketplace.json`.
   */
  nameProofUrl?: string
}

/**
 * Checks an untrusted document (JSON from the network) and returns a typed
 * configuration, or throws `InvalidConfigError` naming the bad field.
 */
export function parseRuntimeConfig(doc: unknown): RuntimeConfig {
  if (doc == null || typeof doc !== 'object') {
    throw new InvalidConfigError('runtime config: expected a JSON object')
  }
  const d = doc as Record<string, unknown>
  if (!Array.isArray(d.relays) || d.relays.length === 0) {
    throw new InvalidConfigError('runtime config: "relays" must be a non-empty array of multiaddrs')
  }
  const relays = d.relays.map((value, i) => {
    if (typeof value !== 'string') {
      throw new InvalidConfigError(`runtime config: relays[${i}] must be a string`)
    }
    try {
      const ma = multiaddr(value)
      if (ma.getComponents().find(c => c.name === 'p2p') == null) {
        throw new Error('it has no /p2p/<peer id> component')
      }
    } catch (err) {
      throw new InvalidConfigError(
        `runtime config: relays[${i}] "${value}" is not a relay multiaddr: ${String(err)}`
      )
    }
    return value
  })
  const iceServers = d.iceServers ?? []
  if (!Array.isArray(iceServers)) {
    throw new InvalidConfigError('runtime config: "iceServers" must be an array')
  }
  if (d.otlpTracesEndpoint != null && typeof d.otlpTracesEndpoint !== 'string') {
    throw new InvalidConfigError('runtime config: "otlpTracesEndpoint" must be a URL string')
  }
  if (d.jaegerUrl != null && (typeof d.jaegerUrl !== 'string' || !/^https?:\/\//.test(d.jaegerUrl))) {
    throw new InvalidConfigError('runtime config: "jaegerUrl" must be an http(s) URL')
  }
  if (
    d.nameProofUrl != null &&
    (typeof d.nameProofUrl !== 'string' ||
      !/^https?:\/\/[^/]*\S*\{domain\}/.test(d.nameProofUrl) ||
      d.nameProofUrl.length > 512)
  ) {
    throw new InvalidConfigError('runtime config: "nameProofUrl" must be an http(s) URL containing {domain}')
  }
  return {
    relays,
    iceServers: iceServers as RuntimeConfig['iceServers'],
    ...(typeof d.nameProofUrl === 'string' ? { nameProofUrl: d.nameProofUrl } : {}),
    ...(typeof d.jaegerUrl === 'string' ? { jaegerUrl: d.jaegerUrl } : {}),
    ...(typeof d.otlpTracesEndpoint === 'string' ? { otlpTracesEndpoint: d.otlpTracesEndpoint } : {}),
    ...(typeof d.version === 'string' ? { version: d.version } : {})
  }
}

/**
 * Fetches the runtime configuration from a relay's HTTP origin (or a full URL
 * to the document). Relative `otlpTracesEndpoint` values are resolved against it.
 */
export async function fetchRuntimeConfig(url: string, options: AbortOptions = {}): Promise<RuntimeConfig> {
  const target = new URL(url, globalThis.location?.href)
  if (target.pathname === '/' || target.pathname === '') {
    target.pathname = RUNTIME_CONFIG_PATH
  }
  let response: Response
  try {
    response = await fetch(target, { signal: options.signal ?? AbortSignal.timeout(10_000) })
  } catch (err) {
    throw new InvalidConfigError(`could not fetch runtime config from ${target.href}: ${String(err)}`, {
      cause: err
    })
  }
  if (!response.ok) {
    throw new InvalidConfigError(
      `could not fetch runtime config from ${target.href}: HTTP ${response.status}`
    )
  }
  const config = parseRuntimeConfig(await response.json())
  if (config.otlpTracesEndpoint != null) {
    config.otlpTracesEndpoint = new URL(config.otlpTracesEndpoint, target).href
  }
  return config
}
