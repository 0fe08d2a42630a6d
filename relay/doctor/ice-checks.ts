import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { describeError } from '../../src/core/errors.ts'
import { parseIceServerUrl } from '../config/ice-servers.ts'
import { StunDecodeError, StunProtocolError, StunTimeoutError, seconds } from './errors.ts'
import { explainNetworkError } from './network-errors.ts'
import { StunClient } from './stun-client.ts'
import { stunBinding, turnAllocate } from './turn-probe.ts'
import type { DoctorCheck } from './index.ts'
import type { StunClientInit } from './stun-client.ts'
import type { TransportAddress } from './stun-message.ts'
import type { AllocateResult } from './turn-probe.ts'

/** More ICE URLs than this in one config are not checked (each takes a socket and up to ~20 s). */
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
 * Checks one STUN or TURN URL from here over UDP: a Binding for `stun:`, an allocation (freed
 * at once) for `turn:`. TCP and TLS URLs are not checked.
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
  if (url.transport !== 'udp') {
    return check(
      'skipped',
      `not checked: ${url.transport === 'tls' ? `${url.scheme}: runs over TLS` : 'TURN over TCP'}, and the doctor checks UDP only`
    )
  }
  let server: TransportAddress
  try {
    server = await resolve(url.host, url.port, init)
  } catch (err) {
    const { message, hint } = explainNetworkError(err, { host: url.host, service: 'the STUN/TURN server' })
    return check('failed', message, `${hint} (ICE_SERVERS names it)`)
  }
  const where = `${server.address}:${server.port}`
  let client: StunClient | undefined
  try {
    client = await StunClient.connect(server, init)
    if (!turn) {
      const { mapped, rttMs } = await stunBinding(client, { signal: init.signal })
      return check('ok', `STUN ok: your public address is ${formatAddress(mapped)}`, undefined, {
        server: where,
        publicAddress: formatAddress(mapped),
        rttMs: Math.round(rttMs)
      })
    }
    const credentials =
      target.username != null && target.credential != null
        ? { username: target.username, password: target.credential }
        : undefined
    const result = await turnAllocate(client, credentials, { signal: init.signal })
    return turnCheck(result, target, where, check, init.now ?? Date.now)
  } catch (err) {
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
    if (init.signal?.aborted === true) return check('failed', `stopped: ${describeError(init.signal.reason)}`)
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

function turnCheck(
  result: AllocateResult,
  target: IceTarget,
  where: string,
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
      return check('ok', `TURN ok: relayed address ${formatAddress(result.relayed)}${freed}`, undefined, {
        server: where,
        relayedAddress: formatAddress(result.relayed),
        ...(result.mapped != null ? { publicAddress: formatAddress(result.mapped) } : {}),
        ...(result.lifetime != null ? { lifetimeSeconds: result.lifetime } : {}),
        ...(result.realm != null ? { realm: result.realm } : {}),
        freed: result.freed === true,
        ...expires
      })
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
