import { parseRuntimeConfig } from '../../src/core/config.ts'
import { RUNTIME_CONFIG_PATH } from '../../src/core/constants.ts'
import { InvalidConfigError, describeError } from '../../src/core/errors.ts'
import { insecureRelayAddrs, isLoopbackAddr } from '../../src/core/network/relay-addrs.ts'
import { ConfigTooLargeError, InvalidDoctorUrlError } from './errors.ts'
import { explainNetworkError } from './network-errors.ts'
import type { RuntimeConfig } from '../../src/core/config.ts'
import type { DoctorCheck } from './index.ts'

/** `/config.json` is a few hundred bytes; a relay's is never near this, anything larger is refused. */
export const MAX_CONFIG_BYTES = 1024 * 1024

/**
 * The page URL people open and the `/config.json` URL to fetch, from what the person typed: an
 * origin gets `/config.json`, a path ending in `/` gets `config.json`, a full URL is used as is.
 * User name and password are refused (they would be printed).
 */
export function doctorUrls(input: string): { page: URL; config: URL } {
  let page: URL
  try {
    page = new URL(input)
  } catch {
    throw new InvalidDoctorUrlError(
      `"${input}" is not a URL; give the relay's address, e.g. https://relay.example`
    )
  }
  if (page.protocol !== 'https:' && page.protocol !== 'http:') {
    throw new InvalidDoctorUrlError(
      `"${input}" is not an http(s) URL; give the relay's address, e.g. https://relay.example`
    )
  }
  if (page.username !== '' || page.password !== '') {
    throw new InvalidDoctorUrlError('the URL has a user name or password; give the address without them')
  }
  const config = new URL(page.href)
  config.hash = ''
  if (config.pathname === '/' || config.pathname === '') config.pathname = RUNTIME_CONFIG_PATH
  else if (config.pathname.endsWith('/')) config.pathname += RUNTIME_CONFIG_PATH.slice(1)
  return { page, config }
}

export interface FetchConfigInit {
  signal?: AbortSignal
  /** @default 10000 */
  timeoutMs?: number
}

/**
 * Fetches and validates `/config.json` with the parser browsers use; the check says what went
 * wrong (DNS, TLS, connection, HTTP status, size, JSON, contents) and how to fix it.
 */
export async function fetchConfig(
  url: URL,
  init: FetchConfigInit = {}
): Promise<{ check: DoctorCheck; config?: RuntimeConfig }> {
  const timeoutMs = init.timeoutMs ?? 10_000
  const fail = (message: string, hint: string, details?: DoctorCheck['details']): { check: DoctorCheck } => ({
    check: {
      group: 'config',
      subject: url.href,
      status: 'failed',
      message,
      hint,
      ...(details != null ? { details } : {})
    }
  })
  const signal = AbortSignal.any([
    AbortSignal.timeout(timeoutMs),
    ...(init.signal != null ? [init.signal] : [])
  ])
  let response: Response
  let body: Uint8Array
  try {
    response = await fetch(url, { signal, headers: { Accept: 'application/json' } })
    if (!response.ok) {
      // the error page is not read: a cancel that fails loses nothing the check reports
      await response.body?.cancel().catch(() => {})
      return fail(
        `GET ${url.pathname} answered HTTP ${response.status} ${response.statusText}`.trim(),
        httpHint(response.status),
        {
          httpStatus: response.status
        }
      )
    }
    body = await readBounded(response, MAX_CONFIG_BYTES)
  } catch (err) {
    if (err instanceof ConfigTooLargeError) {
      return fail(
        `${url.pathname} is larger than ${MAX_CONFIG_BYTES / 1024} KiB`,
        "a relay's config.json is a few hundred bytes: is this URL the relay?"
      )
    }
    if (init.signal?.aborted === true)
      return fail(`stopped: ${describeError(init.signal.reason)}`, 'the check was stopped before it finished')
    const { message, hint, code } = explainNetworkError(err, {
      host: url.hostname,
      port: url.port !== '' ? url.port : url.protocol === 'https:' ? 443 : 80,
      service: "the relay's HTTP side (or its proxy)",
      timeoutMs
    })
    return fail(message, hint, code != null ? { code } : undefined)
  }
  const text = new TextDecoder().decode(body)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    const start = text.trimStart().slice(0, 40)
    return fail(
      `${url.pathname} is not JSON (it starts with ${JSON.stringify(start)})`,
      /^<(!doctype|html)/i.test(start)
        ? `an HTML page came back: the proxy sends ${url.pathname} somewhere other than the relay's HTTP side (PORT), or this is not the relay's URL`
        : `is ${url.origin} the relay's URL?`
    )
  }
  let config: RuntimeConfig
  try {
    config = parseRuntimeConfig(doc)
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err
    return fail(
      `${url.pathname} is not a valid runtime config: ${err.message}`,
      "browsers refuse it too: check the relay's ANNOUNCE_ADDRS and its version"
    )
  }
  const urls = iceUrlCount(config)
  const version = config.version != null ? `, relay version ${config.version}` : ''
  return {
    config,
    check: {
      group: 'config',
      subject: url.href,
      status: 'ok',
      message: `valid: ${plural(config.relays.length, 'relay address', 'relay addresses')}, ${plural(urls, 'ICE server URL')}${version}`,
      details: {
        httpStatus: response.status,
        relays: config.relays.length,
        iceUrls: urls,
        ...(config.version != null ? { version: config.version } : {}),
        ...(response.redirected ? { redirectedTo: response.url } : {})
      }
    }
  }
}

/**
 * What in a valid config will not work for some browsers: plain `ws://` relay addresses for a
 * page served over https (mixed content, blocked), no ICE servers, no TURN server, TURN without
 * credentials, and a plain http traces endpoint for an https page.
 */
export function configWarnings(page: URL, configUrl: URL, config: RuntimeConfig): DoctorCheck[] {
  const checks: DoctorCheck[] = []
  const warn = (status: 'warning' | 'failed', message: string, hint: string): void => {
    checks.push({ group: 'config', subject: configUrl.href, status, message, hint })
  }
  const insecure = insecureRelayAddrs(config.relays, page.protocol)
  if (insecure.length > 0) {
    const all = insecure.length === config.relays.length
    // a tab given nothing but blocked addresses stops at once (InsecureRelayError): that is a failure
    warn(
      all ? 'failed' : 'warning',
      `the page is https but ${all ? 'every' : `${insecure.length} of the ${config.relays.length}`} relay address${all && config.relays.length === 1 ? ' is' : 'es are'} plain ws (${insecure.join(', ')}): browsers block them as mixed content`,
      "announce the wss address your proxy or the relay's TLS serves: ANNOUNCE_ADDRS=/dns4/<host>/tcp/443/wss, or TLS_CERT/TLS_KEY on the relay"
    )
  }
  const servers = config.iceServers.filter(s => s != null && typeof s === 'object')
  const urls = servers
    .flatMap(s => (Array.isArray(s.urls) ? s.urls : [s.urls]))
    .filter(u => typeof u === 'string')
  if (urls.length === 0) {
    const loopback = config.relays.every(isLoopbackAddr)
    warn(
      'warning',
      `no ICE servers: tabs on different networks cannot connect directly${loopback ? ' (fine while every tab runs on this machine)' : ''}`,
      'set ICE_SERVERS=stun:<turn host>:3478,turn:<turn host>:3478?transport=udp and TURN_SECRET=<coturn static-auth-secret> on the relay'
    )
  } else if (!urls.some(u => /^turns?:/i.test(u))) {
    warn(
      'warning',
      'no turn: URL in iceServers: tabs behind symmetric NATs (many mobile and corporate networks) cannot connect directly',
      'run a TURN server (coturn with use-auth-secret) and add turn:<host>:3478?transport=udp to ICE_SERVERS, with TURN_SECRET'
    )
  }
  const bare = servers.filter(
    s =>
      (Array.isArray(s.urls) ? s.urls : [s.urls]).some(u => typeof u === 'string' && /^turns?:/i.test(u)) &&
      (typeof s.username !== 'string' || typeof s.credential !== 'string' || s.username === '')
  )
  if (bare.length > 0) {
    warn(
      'warning',
      `TURN URLs without username and credential (${bare.flatMap(s => s.urls).join(', ')}): browsers refuse such a server`,
      "set TURN_SECRET on the relay to coturn's static-auth-secret: each config.json then carries fresh credentials"
    )
  }
  if (config.otlpTracesEndpoint != null && page.protocol === 'https:') {
    const endpoint = new URL(config.otlpTracesEndpoint, configUrl)
    if (endpoint.protocol === 'http:' && !isLoopbackHost(endpoint.hostname)) {
      warn(
        'warning',
        `the traces endpoint is plain http (${endpoint.href}): browsers on the https page block it, and spans are lost`,
        'behind a proxy set PUBLIC_ORIGINS=<https origin> and TRUST_PROXY=1 on the relay, so the URLs it hands out are https'
      )
    }
  }
  return checks
}

/** The response body, refusing it as soon as it passes `max` bytes (whatever Content-Length said). */
async function readBounded(response: Response, max: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? NaN)
  if (declared > max) {
    // the body is refused unread: a cancel that fails loses nothing
    await response.body?.cancel().catch(() => {})
    throw new ConfigTooLargeError()
  }
  const reader = response.body?.getReader()
  if (reader == null) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.length
    if (size > max) {
      // the rest is refused unread: a cancel that fails loses nothing
      await reader.cancel().catch(() => {})
      throw new ConfigTooLargeError()
    }
    chunks.push(value)
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.length
  }
  return body
}

function httpHint(status: number): string {
  if (status === 404) {
    return "is this the relay's URL? The relay answers /config.json on its HTTP port (PORT); a proxy must send it there"
  }
  if (status === 502 || status === 503 || status === 504) {
    return 'the proxy could not reach the relay: is the relay running, and does the proxy point at its PORT?'
  }
  if (status === 401 || status === 403)
    return 'the server refuses it: browsers fetch /config.json without credentials'
  return "see the relay's (or the proxy's) log"
}

/** Hosts browsers treat as secure even over http (this machine). */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase()
  return host === 'localhost' || host.endsWith('.localhost') || host.startsWith('127.') || host === '[::1]'
}

function iceUrlCount(config: RuntimeConfig): number {
  return config.iceServers
    .filter(s => s != null && typeof s === 'object')
    .reduce((n, s) => n + (Array.isArray(s.urls) ? s.urls.length : 1), 0)
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}
