import { isPrivate } from '@libp2p/utils'
import { WebSockets } from '@multiformats/multiaddr-matcher'
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The browser's default policy (no insecure WebSockets, no private addresses)
 * with one exception: the relays named in the runtime configuration, and
 * circuits through them. Without it a tab silently refuses `ws://127.0.0.1`.
 */
export function relayAwareGater(relays: Multiaddr[]): ConnectionGater {
  const allowed = relays.map(relay => transportPart(relay))
  const isAllowedRelay = (ma: Multiaddr): boolean => {
    const base = transportPart(ma)
    return allowed.some(prefix => base === prefix)
  }
  return {
    denyDialMultiaddr: (ma: Multiaddr) => {
      if (isAllowedRelay(ma)) {
        return false
      }
      return WebSockets.matches(ma) || isPrivate(ma)
    }
  }
}

/** The transport address of a multiaddr, i.e. everything before its first `/p2p`. */
function transportPart(ma: Multiaddr): string {
  const text = ma.toString()
  const at = text.indexOf('/p2p/')
  return at === -1 ? text : text.slice(0, at)
}
