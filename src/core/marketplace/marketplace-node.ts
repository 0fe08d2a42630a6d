import { MemoryDatastore } from 'datastore-core'
import { multiaddr } from '@multiformats/multiaddr'
import { PackageCatalog } from '../catalog/catalog.ts'
import { fetchRuntimeConfig } from '../config.ts'
import { InvalidConfigError, NodeStoppedError, describeError } from '../errors.ts'
import { loadOrCreateIdentity } from '../identity.ts'
import { isDirectWebRTC } from '../network/connection-info.ts'
import { IceSelfCheck } from '../network/ice-check.ts'
import { IcePaths } from '../network/ice-path.ts'
import { refuseBlockedRelays } from '../network/relay-addrs.ts'
import { keyNamespaceOf } from '../package/names.ts'
import { EventSpans } from '../telemetry/event-spans.ts'
import { BOOTSTRAP_PHASE, TRACER_NAME } from '../telemetry/schema.ts'
import { globalTracer } from '../telemetry/tracing.ts'
import { marketplaceService } from './marketplace-service.ts'
import { NodeOperations } from './node-operations.ts'
import { lazyContentStore } from './package-content.ts'
import type { LazyContentStore } from './package-content.ts'
import { createNodeNetwork } from './node-libp2p.ts'
import { NameProofs } from './name-proofs.ts'
import { untilEvent } from './node-state.ts'
import { NodeStatusMachine } from './node-status.ts'
import { PeerFeedback } from './peer-feedback.ts'
import { peerSummaries, watchPeerChanges } from './peer-summaries.ts'
import { ReputationBook } from './reputation.ts'
import type { DirectConnector, DirectDialStats } from '../network/direct-connector.ts'
import type { MarketplaceServices } from '../network/libp2p-options.ts'
import type { RelayKeeper } from '../network/relay-keeper.ts'
import type { MarketplaceService } from './marketplace-service.ts'
import type { AbortOptions, Libp2p, Logger } from '@libp2p/interface'
import type { Tracer } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { Datastore } from 'interface-datastore'
import type {
  MarketplaceNodeInit,
  NodeState,
  NodeStatus,
  NodeTimings,
  PeerChange,
  PeerSummary
} from '../index.ts'

/**
 * A marketplace peer: a libp2p node that keeps its relay connection and
 * reservation, upgrades other tabs to direct WebRTC, and reports its state.
 */
export class MarketplaceNode extends NodeOperations {
  readonly timings: NodeTimings
  readonly temporaryKey: boolean
  readonly reputation: ReputationBook
  readonly catalog: PackageCatalog
  private readonly datastore: Datastore
  private service?: MarketplaceService
  private events?: EventSpans
  private readonly tracer: Tracer
  private readonly machine: NodeStatusMachine
  private _libp2p?: Libp2p<MarketplaceServices>
  private keeper?: RelayKeeper
  private connector?: DirectConnector
  private icePaths?: IcePaths
  private iceCheck?: IceSelfCheck
  private stopped = false
  private content?: LazyContentStore
  private log?: Logger
  private readonly init: MarketplaceNodeInit
  private nameProofs: NameProofs

  constructor(init: MarketplaceNodeInit) {
    super()
    this.init = init
    if (init.config == null && init.configUrl == null)
      throw new InvalidConfigError('createMarketplaceNode: pass either `config` or `configUrl`')
    this.temporaryKey = init.temporaryKey === true
    this.datastore = init.datastore ?? new MemoryDatastore()
    this.nameProofs = new NameProofs(init.nameProofs)
    // the lists are read with the runtime config's template, known once the node starts
    this.catalog = new PackageCatalog(this.datastore, {
      proofs: { check: async (...args) => await this.nameProofs.check(...args) }
    })
    this.reputation = new ReputationBook(this.datastore)
    this.tracer = init.tracerProvider?.getTracer(TRACER_NAME) ?? globalTracer()
    this.machine = new NodeStatusMachine(
      this.tracer,
      {
        relayStates: () => this.keeper?.states() ?? [],
        peers: () => this.peers(),
        ice: () => this.iceCheck?.result,
        connectedPeers: () => this._libp2p?.getPeers().length ?? 0
      },
      status => this.safeDispatchEvent('status', { detail: status })
    )
    this.timings = this.machine.timings
    const spanOf = (evt: Event): ReadableSpan => (evt as CustomEvent<ReadableSpan>).detail
    init.spanEvents?.addEventListener('span', evt => this.safeDispatchEvent('span', { detail: spanOf(evt) }))
    this.catalog.addEventListener('package', evt => this.safeDispatchEvent('package', { detail: evt.detail }))
  }

  /** The peer id, once started. */
  get peerId(): string {
    return this.libp2p.peerId.toString()
  }

  /** This node's key namespace (PROTOCOL.md §3): a namespace only this node's key may publish in. */
  get keyNamespace(): string {
    return keyNamespaceOf(this.peerId)
  }

  /** The underlying libp2p node (for diagnostics and tests; not part of the stable API). */
  get libp2p(): Libp2p<MarketplaceServices> {
    if (this._libp2p == null) throw new NodeStoppedError('the marketplace node has not started yet')
    return this._libp2p
  }

  get dialStats(): DirectDialStats | undefined {
    return this.connector?.stats
  }

  /** Starts the node; a start that fails leaves it offline with the reason as its progress. */
  async start(): Promise<void> {
    if (this.stopped) throw new NodeStoppedError()
    await this.startUp().catch((err: unknown) => {
      this.machine.stopped(err instanceof Error ? err.message : describeError(err))
      throw err
    })
  }

  private async startUp(): Promise<void> {
    const datastore = this.datastore
    // nothing of these depends on another: the identity, the stored catalog and the runtime config
    this.machine.setProgress('loading the catalog, fetching runtime config')
    const phase = async <T>(name: string, step: T | Promise<T>): Promise<T> => {
      const done = await step
      this.machine.phase(name)
      return done
    }
    const [privateKey, config] = await Promise.all([
      phase(BOOTSTRAP_PHASE.identity, this.init.privateKey ?? loadOrCreateIdentity(datastore)),
      phase(BOOTSTRAP_PHASE.config, this.init.config ?? fetchRuntimeConfig(this.init.configUrl ?? '')),
      phase(BOOTSTRAP_PHASE.catalog, Promise.all([this.catalog.load(), this.reputation.load()]))
    ])
    // an https page given only ws:// relays fails now, with a reason, not at every dial
    refuseBlockedRelays(config.relays, globalThis.location?.protocol)
    const relays = config.relays.map(r => multiaddr(r))
    if (config.nameProofUrl != null)
      this.nameProofs = new NameProofs({ ...this.init.nameProofs, urlTemplate: config.nameProofUrl })
    const { libp2p, gossipReplays, keeper, connector } = await createNodeNetwork({
      privateKey,
      datastore,
      config,
      relays,
      catalog: this.catalog,
      discoveryIntervalMs: this.init.discoveryIntervalMs ?? 1000,
      mesh: {
        ice: () => this.iceCheck?.result,
        onChange: () => this.machine.update(),
        onUpgrading: peerId => this.peerEvent(peerId, 'upgrading')
      }
    })
    this._libp2p = libp2p
    this.keeper = keeper
    this.connector = connector
    const log = (this.log = libp2p.logger.forComponent('marketplace:node'))
    watchPeerChanges(libp2p, {
      onOpen: conn => {
        this.reputation.seen(conn.remotePeer.toString())
        if (isDirectWebRTC(conn)) this.machine.directOpened()
      },
      onChange: (peerId, change) => {
        if (change != null) this.peerEvent(peerId, change)
        this.machine.update()
      }
    })
    const feedback = new PeerFeedback({ reputation: this.reputation, tracer: this.tracer })
    this.content = lazyContentStore({ libp2p, datastore, feedback }, this.init.content)
    this.service = marketplaceService({
      // a tab fills its catalog by sync from its relays only; other tabs reach it by gossip and search
      syncScope: id => (keeper.relayPeerIds.has(id) ? 'all' : 'none'),
      ...this.init.service
    })({
      libp2p,
      catalog: this.catalog,
      reputation: this.reputation,
      datastore,
      privateKey,
      gossipReplays,
      log: libp2p.logger.forComponent('marketplace:service'),
      tracer: this.tracer,
      content: this.content.get
    })
    await this.service.start()
    this.icePaths = new IcePaths(libp2p, conn => this.peerEvent(conn.remotePeer.toString(), 'path'))
    this.icePaths.start()
    this.events = new EventSpans(libp2p, this.tracer, this.icePaths)
    this.events.start()
    this.machine.started(this.peerId, relays.length)
    this.keeper.start()
    this.connector.start()
    this.iceCheck = new IceSelfCheck({
      onChange: () => this.machine.announce(),
      onError: err => log.error('ICE self-check failed - %e', err)
    })
    this.iceCheck.run(config.iceServers)
  }

  status(): NodeStatus {
    return this.machine.status()
  }

  peers(): PeerSummary[] {
    if (this._libp2p == null) return []
    return peerSummaries(this._libp2p.getConnections(), {
      relayIds: this.keeper?.relayPeerIds ?? new Set(),
      upgrades: this.connector?.dialStates() ?? new Map(),
      reputation: this.reputation,
      iceOf: conn => this.icePaths?.of(conn),
      traffic: this.content?.traffic() ?? new Map()
    })
  }

  /** Re-dials disconnected relays now instead of waiting for the backoff. */
  retry(): void {
    this.keeper?.retryNow()
  }

  /** Resolves once the node is in `state` (`online`: a relay holds a reservation for it). */
  async waitFor(state: NodeState, options: AbortOptions = {}): Promise<void> {
    if (this.machine.state === state) return
    await untilEvent(this, 'status', evt => (evt as CustomEvent<NodeStatus>).detail.state === state, options)
  }

  private peerEvent(peerId: string, change: PeerChange['change']): void {
    this.safeDispatchEvent('peer', { detail: { peerId, change } })
  }

  protected running(): MarketplaceService {
    if (this.stopped) throw new NodeStoppedError()
    if (this.service == null) throw new NodeStoppedError('the marketplace node has not started yet')
    return this.service
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    // offline from here on: nothing the parts report while they stop changes the status
    this.machine.stopped()
    this.keeper?.stop()
    this.connector?.stop()
    this.iceCheck?.stop()
    await this.service
      ?.stop()
      .catch((err: unknown) => this.log?.error('stopping the service failed - %e', err))
    this.events?.stop()
    this.icePaths?.stop()
    await this.content?.stop()
    await this._libp2p?.stop()
    this.machine.announce() // the last status: no connections left
  }
}

/** Creates and starts a marketplace node; it keeps bootstrapping in the background. */
export async function createMarketplaceNode(init: MarketplaceNodeInit): Promise<MarketplaceNode> {
  const node = new MarketplaceNode(init)
  await node.start()
  return node
}
