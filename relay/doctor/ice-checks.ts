import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { describeError } from '../../src/core/errors.ts'
import { parseIceServerUrl } from '../config/ice-servers.ts'
import {
  StunConnectionError,
  StunDecodeError,
  StunProtocolError,
  StunTimeoutError,
  seconds
} from './errors.ts'
import { explainNetworkError } from './network-errors.ts'
import { StunClient } from './stun-client.ts'
import { stunBinding, turnAllocate } from './turn-probe.ts'
import type { DoctorCheck } from './index.ts'
import type { StunClientInit } from './stun-client.ts'
import type { TransportAddress } from './stun-message.ts'
import type { AllocateResult } from './turn-probe.ts'

/** More ICE URLs than this in one config are not checked (each takes a socket and up to ~30 s). */
export const MAX_ICE_URLS = 16
/** How long resolving a STUN/TURN host name may take (ms). */
const DNS_TIMEOUT_MS = 5000

/** One URL of an `iceServers` entry, with that entry's credentials. */
export interface IceTarget {
  url: string
  username?: string
  credential?: string
}

/** A STUN/TURN URL taken apart (RFC 7064/7065). */
export interface IceUrl {
  scheme: 'stun' | 'stuns' | 'turn' | 'turns'
  /** Without brackets for IPv6. */
  host: string
  port: number
  /** `tls` for stuns:/turns: without a transport parameter. */
  transport: 'udp' | 'tcp' | 'tls'
}

/**
 * Takes a `stun:`/`turn:` URL apart, after checking it with the relay's own validator (which
 * throws `InvalidRelayConfigError` saying what is wrong with it).
 */
export function parseIceUrl(url: string): IceUrl {
  const valid = parseIceServerUrl(url)
  const match = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/.exec(valid)
  if (match == null) throw new Error(`cannot take ${url} apart`)
  const [, scheme = 'stun', host = '', port, transport] = match
  const secure = scheme.endsWith('s')
  return {
    scheme: scheme as IceUrl['scheme'],
    host: host.startsWith('[') ? host.slice(1, -1) : host,
    port: port != null ? Number(port) : secure ? 5349 : 3478,
    transport: secure ? (transport === 'udp' ? 'udp' : 'tls') : transport === 'tcp' ? 'tcp' : 'udp'
  }
}

/**
 * The URLs of `iceServers`, each with its entry's credentials. The runtime config parser takes
 * the entries on trust (browsers check them), so their shape is checked here: a bad entry is a
 * failed check of its own. Repeated URLs are checked once.
 */
export function iceTargets(
  iceServers: readonly unknown[],
  subject: string
): { targets: IceTarget[]; checks: DoctorCheck[] } {
  const targets: IceTarget[] = []
  const checks: DoctorCheck[] = []
  const bad = (message: string): void => {
    checks.push({
      group: 'config',
      subject,
      status: 'failed',
      message,
      hint: 'browsers refuse the whole list (RTCPeerConnection throws): fix ICE_SERVERS on the relay'
    })
  }
  iceServers.forEach((entry, i) => {
    if (entry == null || typeof entry !== 'object') return bad(`iceServers[${i}] is not an object`)
    const { urls, username, credential } = entry as {
      urls?: unknown
      username?: unknown
      credential?: unknown
    }
    const list: unknown[] = Array.isArray(urls) ? urls : [urls]
    if (list.length === 0 || list.some(u => typeof u !== 'string')) {
      return bad(`iceServers[${i}].urls must be a URL string or an array of them`)
    }
    if (
      (username != null && typeof username !== 'string') ||
      (credential != null && typeof credential !== 'string')
    ) {
      return bad(`iceServers[${i}].username and .credential must be strings`)
    }
    for (const url of list as string[]) {
      if (targets.some(t => t.url === url)) continue
      targets.push({
        url,
        ...(typeof username === 'string' ? { username } : {}),
        ...(typeof credential === 'string' ? { credential } : {})
      })
    }
  })
  if (targets.length > MAX_ICE_URLS) {
    checks.push({
      group: 'config',
      subject,
      status: 'warning',
      message: `${targets.length} ICE server URLs: only the first ${MAX_ICE_URLS} are checked`,
      hint: 'browsers try every one of them when gathering candidates: a few are enough'
    })
    targets.length = MAX_ICE_URLS
  }
  return { targets, checks }
}

export interface IceCheckInit extends StunClientInit {
  signal?: AbortSignal
  /** Resolves a host name (node:dns's `lookup` by default). */
  resolve?: (host: string) => Promise<{ address: string; family: number }>
  /** The clock the credentials' expiry is judged by. @default Date.now */
  now?: () => number
}

/**
 * Checks one STUN or TURN URL from here, over the URL's transport (UDP, TCP for
 * `?transport=tcp`, TLS for `stuns:`/`turns:`): a Binding for `stun:`, an allocation (freed at
 * once) for `turn:`. Over TLS the certificate is verified as browsers would, for the URL's host
 * (also sent as SNI when it is a name); a private CA is trusted through `NODE_EXTRA_CA_CERTS`.
 */
export async function checkIceTarget(target: IceTarget, init: IceCheckInit = {}): Promise<DoctorCheck> {
  const check = (
    status: DoctorCheck['status'],
    message: string,
    hint?: string,
    details?: DoctorCheck['details']
  ): DoctorCheck => ({
    group: 'ice',
    subject: target.url,
    status,
    message,
    ...(hint != null ? { hint } : {}),
    ...(details != null ? { details } : {})
  })
  let url: IceUrl
  try {
    url = parseIceUrl(target.url)
  } catch (err) {
    return check(
      'failed',
      `not a valid STUN/TURN URL: ${(err as Error).message}`,
      'fix ICE_SERVERS on the relay'
    )
  }
  const turn = url.scheme.startsWith('turn')
  let server: TransportAddress
  try {
    server = await resolve(url.host, url.port, init)
  } catch (err) {
    const { message, hint } = explainNetworkError(err, { host: url.host, service: 'the STUN/TURN server' })
    return check('failed', message, `${hint} (ICE_SERVERS names it)`)
  }
  const where = formatAddress(server)
  const over = url.transport === 'udp' ? '' : ` over ${url.transport.toUpperCase()}`
  let client: StunClient | undefined
  try {
    const clientInit: StunClientInit = {
      ...(init.timeoutMs != null ? { timeoutMs: init.timeoutMs } : {}),
      ...(init.attempts != null ? { attempts: init.attempts } : {})
    }
    client =
      url.transport === 'udp'
        ? await StunClient.connect(server, clientInit)
        : await StunClient.connectStream(server, {
            ...clientInit,
            ...(init.signal != null ? { signal: init.signal } : {}),
            // SNI carries names only (RFC 6066); an IP address is looked for in the certificate as is
            ...(url.transport === 'tls' ? { tls: isIP(url.host) === 0 ? { servername: url.host } : {} } : {})
          })
    if (!turn) {
      const { mapped, rttMs } = await stunBinding(client, { signal: init.signal })
      return check('ok', `STUN ok${over}: your public address is ${formatAddress(mapped)}`, undefined, {
        server: where,
        transport: url.transport,
        publicAddress: formatAddress(mapped),
        rttMs: Math.round(rttMs)
      })
    }
    const credentials =
      target.username != null && target.credential != null
        ? { username: target.username, password: target.credential }
        : undefined
    const result = await turnAllocate(client, credentials, { signal: init.signal })
    return turnCheck(result, target, { where, over, transport: url.transport }, check, init.now ?? Date.now)
  } catch (err) {
    if (init.signal?.aborted === true) return check('failed', `stopped: ${describeError(init.signal.reason)}`)
    if (url.transport !== 'udp') {
      const { message, hint } = explainStreamError(err, url, where)
      return check('failed', message, hint, { server: where, transport: url.transport })
    }
    if (err instanceof StunTimeoutError) {
      const message = err.refused
        ? `no answer in ${seconds(err.waitedMs)}: ${server.address} refused UDP port ${server.port} (nothing listens there)`
        : `no answer in ${seconds(err.waitedMs)}: is UDP port ${server.port} open?`
      const hint =
        err.invalidAnswer != null
          ? `something answered, but not with STUN (${err.invalidAnswer}): is ${where} the STUN/TURN server?`
          : err.refused
            ? `start the STUN/TURN server (coturn) or check its listening-port and listening-ip (${where})`
            : `check the server runs and listens on ${where}, and that every firewall between (a cloud security group too) lets UDP ${server.port} in and out`
      return check('failed', message, hint, { server: where })
    }
    if (err instanceof StunProtocolError || err instanceof StunDecodeError) {
      return check(
        'failed',
        `the server's answer is not valid: ${err.message}`,
        `is ${where} a STUN/TURN server?`,
        {
          server: where
        }
      )
    }
    const { message, hint } = explainNetworkError(err, {
      host: url.host,
      port: url.port,
      service: 'the STUN/TURN server'
    })
    return check('failed', message, hint, { server: where })
  } finally {
    client?.close()
  }
}

/**
 * What went wrong checking a `?transport=tcp`, `stuns:` or `turns:` URL: the connection
 * (refused, no answer, the TLS handshake, the certificate), or what came back on it.
 */
function explainStreamError(err: unknown, url: IceUrl, where: string): { message: string; hint: string } {
  const protocol = url.transport.toUpperCase()
  const ports =
    "coturn's listening-port takes turn:…?transport=tcp, its tls-listening-port (5349) turns: and stuns:"
  if (err instanceof StunTimeoutError) {
    return {
      message: `no answer in ${seconds(err.waitedMs)} over ${protocol}: ${where} took the connection, but sent nothing back`,
      hint: `is ${where} a STUN/TURN server? (${ports})`
    }
  }
  if (err instanceof StunConnectionError) {
    if (err.reason === 'connect') {
      return {
        message: `${err.message}: is TCP port ${url.port} open?`,
        hint: `check the server runs and listens on ${where}, and that every firewall between (a cloud security group too) lets TCP ${url.port} in`
      }
    }
    if (err.reason === 'handshake') {
      return {
        message: `TLS: ${err.message}`,
        hint: `is ${url.port} the server's TLS port? (${ports})`
      }
    }
    return {
      message: `${err.message} (no answer came)`,
      hint: `is ${where} a STUN/TURN server? its log may say why`
    }
  }
  if (err instanceof StunDecodeError || err instanceof StunProtocolError) {
    if (url.transport === 'tcp' && /a TLS record/.test(err.message)) {
      return {
        message: `the answer over ${protocol} is not STUN: ${where} speaks TLS`,
        hint: `use ${url.scheme}s:${url.host.includes(':') ? `[${url.host}]` : url.host}:${url.port} for a TLS port, or the server's plain port (${ports})`
      }
    }
    return {
      message: `the server's answer over ${protocol} is not valid: ${err.message}`,
      hint: `is ${where} a STUN/TURN server? (${ports})`
    }
  }
  const explained = explainNetworkError(err, {
    host: url.host,
    port: url.port,
    service: 'the STUN/TURN server'
  })
  if (explained.code === 'ECONNREFUSED') {
    return {
      message: `connection refused by ${where}: nothing listens on TCP port ${url.port}`,
      hint: `start the STUN/TURN server (coturn) or check its ports and listening-ip, and that it runs without no-tcp/no-tls (${ports})`
    }
  }
  if (/the port does not speak TLS/.test(explained.message)) {
    return {
      message: explained.message,
      hint: `is ${url.port} the server's plain TCP port? use turn:…?transport=tcp for it, or its TLS port for ${url.scheme}: (${ports})`
    }
  }
  return explained
}

function turnCheck(
  result: AllocateResult,
  target: IceTarget,
  { where, over, transport }: { where: string; over: string; transport: IceUrl['transport'] },
  check: (
    status: DoctorCheck['status'],
    message: string,
    hint?: string,
    details?: DoctorCheck['details']
  ) => DoctorCheck,
  now: () => number
): DoctorCheck {
  const expiry = credentialExpiry(target.username)
  const expires: Record<string, string> =
    expiry != null ? { credentialsExpire: new Date(expiry).toISOString() } : {}
  switch (result.outcome) {
    case 'allocated': {
      const freed =
        result.freed === true
          ? ''
          : `; could not free it (${result.freed}): it expires in ${result.lifetime ?? 600} s`
      return check(
        'ok',
        `TURN ok${over}: relayed address ${formatAddress(result.relayed)}${freed}`,
        undefined,
        {
          server: where,
          transport,
          relayedAddress: formatAddress(result.relayed),
          ...(result.mapped != null ? { publicAddress: formatAddress(result.mapped) } : {}),
          ...(result.lifetime != null ? { lifetimeSeconds: result.lifetime } : {}),
          ...(result.realm != null ? { realm: result.realm } : {}),
          freed: result.freed === true,
          ...expires
        }
      )
    }
    case 'auth-failed': {
      const expired = expiry != null && expiry < now()
      return check(
        'failed',
        `TURN authentication failed (${result.code}${result.reason !== '' ? ` ${result.reason}` : ''})`,
        expired
          ? `the credentials expired at ${new Date(expiry).toISOString()}: is the relay's clock right? (TURN_TTL sets their lifetime)`
          : "check TURN_SECRET matches coturn's static-auth-secret (and that coturn runs with use-auth-secret)",
        { server: where, realm: result.realm, code: result.code, ...expires }
      )
    }
    case 'needs-credentials':
      return check(
        'failed',
        `the TURN server asks for credentials (401, realm "${result.realm}") but config.json gives none for this URL`,
        "set TURN_SECRET on the relay to coturn's static-auth-secret",
        { server: where, realm: result.realm }
      )
    case 'refused':
      return check(
        'failed',
        `the TURN server refused the allocation: ${result.code} ${result.reason}`.trim(),
        refusalHint(result.code),
        {
          server: where,
          code: result.code
        }
      )
  }
}

function refusalHint(code: number): string {
  if (code === 403) return 'the server forbids it: see its log (a denied-peer-ip or no-udp-relay setting?)'
  if (code === 486)
    return "a per-user quota (coturn's user-quota) is reached: raise it, or wait for old allocations to expire"
  if (code === 508)
    return "the server is out of relay ports or capacity: widen coturn's min-port/max-port or raise total-quota"
  if (code === 442) return 'the server does not relay UDP: browsers need it (remove no-udp-relay)'
  return "see the TURN server's log"
}

/** The expiry (ms) of a TURN REST API username (`<unix expiry>:<suffix>`), if it is one. */
function credentialExpiry(username: string | undefined): number | undefined {
  const seconds = /^(\d{9,11}):/.exec(username ?? '')?.[1]
  return seconds != null ? Number(seconds) * 1000 : undefined
}

async function resolve(host: string, port: number, init: IceCheckInit): Promise<TransportAddress> {
  const family = isIP(host)
  if (family !== 0) return { address: host, port, family: family === 6 ? 'IPv6' : 'IPv4' }
  const lookupHost = init.resolve ?? (async (name: string) => await lookup(name))
  let timer: NodeJS.Timeout | undefined
  try {
    const found = await Promise.race([
      lookupHost(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error(`DNS lookup of ${host} timed out`), { code: 'EAI_AGAIN' })),
          DNS_TIMEOUT_MS
        )
      })
    ])
    return { address: found.address, port, family: found.family === 6 ? 'IPv6' : 'IPv4' }
  } finally {
    clearTimeout(timer)
  }
}

export function formatAddress(address: TransportAddress): string {
  return address.family === 'IPv6'
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`
}
