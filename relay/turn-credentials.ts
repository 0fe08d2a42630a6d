import { createHmac, randomBytes } from 'node:crypto'
import type { IceSettings, TurnSettings } from './config/ice-servers.ts'
import type { RuntimeConfig } from '../src/core/config.ts'

/** A time-limited TURN username and password. */
export interface TurnCredentials {
  /** `<unix expiry>:<random suffix>`. */
  username: string
  /** base64(HMAC-SHA1(secret, username)). */
  credential: string
  /** When the TURN server stops accepting them (ms since the epoch). */
  expiresAt: number
}

/**
 * Mints credentials in the TURN REST API scheme that coturn's `use-auth-secret`
 * checks: the server recomputes the HMAC from the username with its
 * `static-auth-secret` and refuses the username once its timestamp has passed.
 * The secret never leaves the relay.
 */
export function mintTurnCredentials(
  turn: TurnSettings,
  now = Date.now(),
  suffix = randomBytes(9).toString('base64url')
): TurnCredentials {
  const expiry = Math.floor(now / 1000) + turn.ttlSeconds
  const username = `${expiry}:${suffix}`
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64')
  return { username, credential, expiresAt: expiry * 1000 }
}

/**
 * The ICE servers of one `/config.json` answer, as RTCIceServer entries: the
 * STUN URLs in one, the TURN URLs in another with freshly minted credentials.
 */
export function iceServersFor(ice: IceSettings | undefined, now = Date.now()): RuntimeConfig['iceServers'] {
  if (ice == null) return []
  const stun = ice.urls.filter(url => url.startsWith('stun'))
  const turn = ice.urls.filter(url => url.startsWith('turn'))
  const servers: RuntimeConfig['iceServers'] = []
  if (stun.length > 0) servers.push({ urls: stun })
  if (turn.length > 0 && ice.turn != null) {
    const { username, credential } = mintTurnCredentials(ice.turn, now)
    servers.push({ urls: turn, username, credential })
  }
  return servers
}
