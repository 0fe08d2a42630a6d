import { explainDialError } from './dial-errors.ts'
import { isDirectWebRTC } from './connection-info.ts'
import { DirectConnector } from './direct-connector.ts'
import { isLoopbackAddr } from './relay-addrs.ts'
import { RelayKeeper } from './relay-keeper.ts'
import type { IceCheck } from './ice-check.ts'
import type { RuntimeConfig } from '../config.ts'
import type { Libp2p, Logger, PeerDiscovery } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface MeshInit {
  config: RuntimeConfig
  relays: Multiaddr[]
  /** The discovery service whose announcements tell the connector which tabs to upgrade. */
  discovery?: PeerDiscovery
  /** The tab's STUN/TURN self-check, once known: it explains failed dials. */
  ice: () => IceCheck | undefined
  /** A relay's connection or reservation, or a peer's upgrade, changed. */
  onChange: () => void
  /** A peer still relayed moved on in its upgrade (a dial started or failed). */
  onUpgrading: (peerId: string) => void
}

/**
 * A tab's place in the network: a {@link RelayKeeper} that holds its relays and reservations,
 * and a {@link DirectConnector} that upgrades every tab it hears of to a direct connection.
 * Both are returned unstarted.
 */
export function createMesh(
  components: { libp2p: Libp2p; log: Logger },
  init: MeshInit
): { keeper: RelayKeeper; connector: DirectConnector } {
  const { libp2p } = components
  const { config } = init
  const keeper = new RelayKeeper(components, { relays: init.relays, onChange: init.onChange })
  const relayIds = keeper.relayPeerIds
  const connector = new DirectConnector(components, {
    isRelay: id => relayIds.has(id),
    explain: errorClass => {
      const ice = init.ice()
      return explainDialError(errorClass, {
        iceServerCount: config.iceServers.length,
        localOnly: config.relays.every(isLoopbackAddr),
        ...(ice != null ? { ice } : {})
      })
    },
    onChange: peerId => {
      const direct = libp2p
        .getConnections()
        .some(c => c.remotePeer.toString() === peerId && c.status === 'open' && isDirectWebRTC(c))
      if (!direct) init.onUpgrading(peerId)
      init.onChange()
    }
  })
  init.discovery?.addEventListener('peer', evt => connector.announced(evt.detail.id.toString()))
  return { keeper, connector }
}
