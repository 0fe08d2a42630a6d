import { InsecureRelayError } from '../errors.ts'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Whether a multiaddr's host is this machine: `127.0.0.0/8`, `::1`, `localhost` or a
 * `*.localhost` name. Browsers count such hosts as secure, so an https page may open
 * `ws://` to them, and peers that reach a relay there all run on this machine.
 */
export function isLoopbackAddr(addr: string): boolean {
  const host = components(addr).find(c => ['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'].includes(c.name))
  const value = host?.value?.toLowerCase()
  if (value == null) return false
  if (host?.name === 'ip4') return value.startsWith('127.')
  if (host?.name === 'ip6') return value === '::1' || value === '0:0:0:0:0:0:0:1'
  return value === 'localhost' || value.endsWith('.localhost')
}

/** Whether a multiaddr is a WebSocket address without TLS (`/ws`, not `/wss`, `/tls/ws`, `/tls/sni/…/ws`). */
export function isPlainWebSocketAddr(addr: string): boolean {
  const names = components(addr).map(c => c.name)
  const ws = names.indexOf('ws')
  return ws !== -1 && !names.slice(0, ws).includes('tls')
}

/**
 * The relay addresses a page loaded with `pageProtocol` (`location.protocol`) cannot use:
 * on an `https:` page, the plain `ws://` ones to hosts other than this machine, which
 * browsers block as mixed content. Empty for any other page, or outside a browser
 * (`pageProtocol` undefined).
 */
export function insecureRelayAddrs(addrs: readonly string[], pageProtocol: string | undefined): string[] {
  if (pageProtocol !== 'https:') return []
  return addrs.filter(addr => isPlainWebSocketAddr(addr) && !isLoopbackAddr(addr))
}

/**
 * Throws `InsecureRelayError` when every relay address is one the page cannot use
 * ({@link insecureRelayAddrs}): dialing them would only fail again and again, with an error
 * that does not say why.
 */
export function refuseBlockedRelays(addrs: readonly string[], pageProtocol: string | undefined): void {
  const blocked = insecureRelayAddrs(addrs, pageProtocol)
  if (blocked.length > 0 && blocked.length === addrs.length) throw new InsecureRelayError(blocked)
}

function components(addr: string): Array<{ name: string; value?: string }> {
  try {
    return multiaddr(addr).getComponents()
  } catch {
    // not a multiaddr: nothing can be said about it (the runtime config refuses those)
    return []
  }
}

/** The peer id a multiaddr ends with (its last `/p2p/<id>`), if any. */
export function peerIdInAddr(ma: Multiaddr): string | undefined {
  return ma.getComponents().findLast(c => c.name === 'p2p')?.value
}
