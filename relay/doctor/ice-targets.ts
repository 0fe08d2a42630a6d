/**
 * Which STUN/TURN URLs the doctor checks: the `iceServers` of `/config.json`, their shape
 * checked (browsers refuse the whole list for one bad entry), and each URL taken apart.
 */
import { parseIceServerUrl } from '../config/ice-servers.ts'
import { InvalidIceUrlError } from './errors.ts'
import type { DoctorCheck } from './index.ts'

/** More ICE URLs than this in one config are not checked (each takes a socket and up to ~30 s). */
export const MAX_ICE_URLS = 16

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
 * throws `InvalidRelayConfigError` saying what is wrong with it). `InvalidIceUrlError` if the
 * two disagree.
 */
export function parseIceUrl(url: string): IceUrl {
  const valid = parseIceServerUrl(url)
  const match = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/.exec(valid)
  if (match == null) throw new InvalidIceUrlError(`cannot take ${url} apart`)
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
