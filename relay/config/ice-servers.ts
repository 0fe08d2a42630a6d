import { isIPv6 } from 'node:net'
import { commaList } from './addresses.ts'
import { InvalidRelayConfigError } from './errors.ts'

/** Where browsers' WebRTC finds STUN and TURN servers, and how the relay authenticates them to TURN. */
export interface IceSettings {
  /** Validated `stun:`, `stuns:`, `turn:` and `turns:` URLs, scheme lower-cased. */
  urls: string[]
  /** TURN REST API credentials (coturn `use-auth-secret`), when a secret is configured. */
  turn?: TurnSettings
}

export interface TurnSettings {
  /** The TURN server's `static-auth-secret`; never sent to browsers. */
  secret: string
  /** Lifetime of a minted credential, in seconds. */
  ttlSeconds: number
}

// RFC 7064 (stun, stuns) and RFC 7065 (turn, turns): scheme ":" host [ ":" port ], and for
// turn(s) only, [ "?transport=" ( "udp" / "tcp" ) ]. No "//", no user info, no path.
const ICE_URL =
  /^(stuns?|turns?):(\[[^\]\s/]*\]|(?:\d{1,3}\.){3}\d{1,3}|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)(?::(\d{1,5}))?(\?.*)?$/i

/** Checks one ICE server URL against RFC 7064/7065; returns it with a lower-case scheme. */
export function parseIceServerUrl(entry: string): string {
  const bad = (why: string): InvalidRelayConfigError =>
    new InvalidRelayConfigError(
      `ICE_SERVERS (--ice-servers): "${entry}" ${why}; expected comma-separated URLs such as stun:turn.example.com:3478 or turn:turn.example.com:3478?transport=udp`
    )
  const match = ICE_URL.exec(entry)
  if (match == null) {
    if (/^(stuns?|turns?):\/\//i.test(entry)) throw bad('has "//": STUN/TURN URLs are scheme:host[:port]')
    if (!/^(stuns?|turns?):/i.test(entry)) throw bad('is not a stun:, stuns:, turn: or turns: URL')
    throw bad('does not have a valid host (a DNS name, an IPv4 address or an [IPv6] address)')
  }
  const [, scheme = '', host = '', port, query] = match
  const lower = scheme.toLowerCase()
  if (host.startsWith('[') && !isIPv6(host.slice(1, -1)))
    throw bad(`has "${host}", which is not an IPv6 address`)
  if (/^[\d.]+$/.test(host) && host.split('.').some(part => Number(part) > 255)) {
    throw bad(`has "${host}", which is not an IPv4 address`)
  }
  if (port != null && (Number(port) < 1 || Number(port) > 65535))
    throw bad(`has port ${port}, not 1 to 65535`)
  if (query != null) {
    if (lower.startsWith('stun')) throw bad('has a query: stun: URLs take none (RFC 7064)')
    if (!/^\?transport=(udp|tcp)$/i.test(query)) {
      throw bad(`has "${query}"; the only parameter is ?transport=udp or ?transport=tcp (RFC 7065)`)
    }
  }
  return lower + entry.slice(scheme.length).replace(/transport=(udp|tcp)$/i, t => t.toLowerCase())
}

/** `ICE_SERVERS`, `TURN_SECRET` and `TURN_TTL` together. */
export function parseIceSettings(
  servers: string | undefined,
  secret: string | undefined,
  ttl: string | undefined
): IceSettings {
  const urls = commaList(servers).map(parseIceServerUrl)
  const ttlSeconds = Number(ttl ?? '3600')
  if (ttl != null && (!/^\d+$/.test(ttl) || ttlSeconds < 60 || ttlSeconds > 7 * 24 * 3600)) {
    throw new InvalidRelayConfigError(
      `TURN_TTL (--turn-ttl) must be a whole number of seconds from 60 to 604800, got "${ttl}"`
    )
  }
  const turnUrls = urls.filter(url => url.startsWith('turn'))
  if (secret == null || secret === '') {
    if (turnUrls.length > 0) {
      // browsers refuse (InvalidAccessError) a turn: server given without username and credential
      throw new InvalidRelayConfigError(
        `ICE_SERVERS (--ice-servers) has TURN URLs (${turnUrls.join(', ')}) but TURN_SECRET (--turn-secret) is not set: browsers refuse a TURN server without credentials; set TURN_SECRET to the TURN server's static-auth-secret`
      )
    }
    return { urls }
  }
  if (turnUrls.length === 0) {
    throw new InvalidRelayConfigError(
      'TURN_SECRET (--turn-secret) is set but ICE_SERVERS (--ice-servers) has no turn: or turns: URL to use it with'
    )
  }
  return { urls, turn: { secret, ttlSeconds } }
}
