import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { DISCOVERY_TOPIC } from '../src/core/constants.ts'
import { describeError } from '../src/core/errors.ts'
import { SYNC_PROTOCOL } from '../src/core/protocols/messages.ts'
import { RelayKeeper } from '../src/core/network/relay-keeper.ts'
import type { MarketplaceService } from '../src/core/marketplace/marketplace-service.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { IdentifyResult, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peerIdInAddr } from '../src/core/network/relay-addrs.ts'

/** Peer-store tag of configured peer relays: the connection pruner closes their connections last. */
export const PEER_RELAY_TAG = 'marketplace-peer-relay'

/** What {@link RelayPeering} reports about one peer relay. */
export interface PeerRelayState {
  addr: string
  peerId: string
  connected: boolean
  /** Dials since the peer relay was last connected. */
  attempts: number
  lastError?: string
  /** When the next dial is due (epoch ms), while disconnected. */
  retryAt?: number
}

/** A peer relay came, went, or could not be reached (reported once per outage). */
export interface PeerRelayChange {
  state: PeerRelayState
  change: 'connected' | 'disconnected' | 'unreachable'
}

export interface RelayPeeringComponents {
  libp2p: Libp2p<{ pubsub: GossipSub }>
  marketplace: Pick<MarketplaceService, 'syncWith'>
  log: Logger
}

export interface RelayPeeringInit {
  /** Addresses of the peer relays (each ending in `/p2p/<peer id>`), this relay's own excluded. */
  peers: Multiaddr[]
  /** While connected, the catalog is pulled from each peer relay this often (ms). @default 30000 */
  resyncIntervalMs?: number
  onChange?: (change: PeerRelayChange) => void
}

/**
 * Keeps this relay peered with the other relays of its network.
 *
 * - Connection: the {@link RelayKeeper} tabs use dials every peer relay at
 *   start and re-dials with backoff whenever the connection drops (a restart,
 *   a relay that was not up yet); it never gives up.
 * - Gossip: peer relays are gossipsub direct peers (set in the libp2p options),
 *   so every package announcement crosses between relays whatever the mesh does.
 *   Tabs' discovery announcements do not: a tab can only reach tabs through its
 *   own relay's circuit, so announcements of tabs on another relay would only
 *   cost dials that cannot succeed (and load the other relay if they did).
 * - Catalogs: on every (re)connection, and then every `resyncIntervalMs`, the
 *   catalog is pulled from the peer relay with the cursor-based sync. That
 *   brings what was published while the relays were apart, and what a relay
 *   learned by sync (which is not gossiped) from its own tabs or other relays.
 * - DHT: both relays are DHT servers and identify tells each other so; kad-dht
 *   puts each into the other's routing table by itself.
 */
export class RelayPeering {
  private readonly libp2p: RelayPeeringComponents['libp2p']
  private readonly marketplace: RelayPeeringComponents['marketplace']
  private readonly log: Logger
  private readonly peers: Multiaddr[]
  private readonly peerIds: Set<string>
  private readonly resyncIntervalMs: number
  private readonly onChange?: (change: PeerRelayChange) => void
  private readonly keeper: RelayKeeper
  /** What was last reported per peer relay address. */
  private readonly reported = new Map<string, { connected: boolean; unreachable: boolean }>()
  private timer?: ReturnType<typeof setInterval>

  constructor(components: RelayPeeringComponents, init: RelayPeeringInit) {
    this.libp2p = components.libp2p
    this.marketplace = components.marketplace
    this.log = components.log
    this.peers = init.peers
    this.peerIds = new Set(init.peers.map(ma => peerIdOf(ma)))
    this.resyncIntervalMs = init.resyncIntervalMs ?? 30_000
    this.onChange = init.onChange
    this.keeper = new RelayKeeper(
      { libp2p: this.libp2p, log: this.log },
      { relays: this.peers, onChange: () => this.report() }
    )
  }

  async start(): Promise<void> {
    await this.tagPeers()
    this.libp2p.services.pubsub.topicValidators.set(DISCOVERY_TOPIC, this.validateDiscovery)
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
    if (this.peers.length === 0) return
    this.keeper.start()
    this.timer = setInterval(this.resync, this.resyncIntervalMs)
  }

  stop(): void {
    clearInterval(this.timer)
    this.keeper.stop()
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.libp2p.services.pubsub.topicValidators.delete(DISCOVERY_TOPIC)
  }

  states(): PeerRelayState[] {
    return this.keeper.states().map(({ reserved: _reserved, ...state }) => state)
  }

  /**
   * Tags the configured peer relays (so they are pruned last when the relay is
   * full) and untags relays that were peers under an earlier configuration:
   * tags live in the persisted peer store.
   */
  private async tagPeers(): Promise<void> {
    const stale = await this.libp2p.peerStore.all({
      filters: [peer => peer.tags.has(PEER_RELAY_TAG) && !this.peerIds.has(peer.id.toString())]
    })
    await Promise.all(
      stale.map(
        async peer => await this.libp2p.peerStore.merge(peer.id, { tags: { [PEER_RELAY_TAG]: undefined } })
      )
    )
    await Promise.all(
      [...this.peerIds].map(
        async id =>
          await this.libp2p.peerStore.merge(peerIdFromString(id), {
            tags: { [PEER_RELAY_TAG]: { value: 100 } }
          })
      )
    )
  }

  /** Discovery announcements that arrive from a peer relay came from its tabs: not ours to spread. */
  private readonly validateDiscovery = (from: PeerId): TopicValidatorResult =>
    this.peerIds.has(from.toString()) ? TopicValidatorResult.Ignore : TopicValidatorResult.Accept

  /**
   * A (re)connected peer relay is synced at once, whenever it last was: the
   * marketplace's own sync-on-identify skips peers synced in the last 30 s,
   * but a relay that restarted may have received records from its tabs since.
   */
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = evt.detail
    if (this.peerIds.has(peerId.toString()) && protocols.includes(SYNC_PROTOCOL)) this.sync(peerId)
  }

  private readonly resync = (): void => {
    const connected = new Map<string, PeerId>()
    for (const conn of this.libp2p.getConnections()) {
      const id = conn.remotePeer.toString()
      if (conn.status === 'open' && this.peerIds.has(id)) connected.set(id, conn.remotePeer)
    }
    for (const peer of connected.values()) this.sync(peer)
  }

  private sync(peer: PeerId): void {
    this.marketplace
      .syncWith(peer, { force: true })
      .then(added => {
        if (added > 0) this.log('synced %d record(s) from peer relay %p', added, peer)
      })
      .catch((err: unknown) => {
        this.log('sync with peer relay %p failed - %s', peer, describeError(err))
      })
  }

  private report(): void {
    for (const state of this.states()) {
      const last = this.reported.get(state.addr) ?? { connected: false, unreachable: false }
      let change: PeerRelayChange['change'] | undefined
      if (state.connected !== last.connected) {
        change = state.connected ? 'connected' : 'disconnected'
        last.connected = state.connected
        last.unreachable = false
      } else if (!state.connected && state.lastError != null && !last.unreachable) {
        change = 'unreachable'
        last.unreachable = true
      }
      this.reported.set(state.addr, last)
      if (change != null) this.onChange?.({ state, change })
    }
  }
}

/** The peer id at the end of a peer relay's multiaddr (the configuration checked it is there). */
export function peerIdOf(ma: Multiaddr): string {
  const id = peerIdInAddr(ma)
  if (id == null) throw new Error(`${ma.toString()} has no /p2p/<peer id>`)
  return id
}
