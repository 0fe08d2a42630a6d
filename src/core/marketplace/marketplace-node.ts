import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { TypedEventEmitter } from 'main-event'
import { multiaddr } from '@multiformats/multiaddr'
import { fetchRuntimeConfig } from '../config.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { isDirectWebRTC, transportOf } from '../network/connection-info.ts'
import { EventSpans } from '../telemetry/event-spans.ts'
import { IcePaths } from '../network/ice-path.ts'
import { IceSelfCheck } from '../network/ice-check.ts'
import { createTracerProvider } from '../telemetry/provider.ts'
import { ATTR, OPERATION, SPAN, TRACER_NAME } from '../telemetry/schema.ts'
import { elapsedMs, failSpan, globalTracer } from '../telemetry/tracing.ts'
import type { Span, Tracer } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { DirectConnector } from '../network/direct-connector.ts'
import { InsecureRelayError, InvalidConfigError, NodeStoppedError } from '../errors.ts'
import { insecureRelayAddrs, isLoopbackAddr } from '../network/relay-addrs.ts'
import { explainDialError } from '../network/dial-errors.ts'
import { loadOrCreateIdentity } from '../identity.ts'
import { nodeLibp2pOptions } from '../network/libp2p-options.ts'
import { RelayKeeper } from '../network/relay-keeper.ts'
import { ReputationBook } from './reputation.ts'
import { PackageCatalog } from '../catalog/catalog.ts'
import { NameProofs } from './name-proofs.ts'
import { keyNamespaceOf } from '../package/names.ts'
import { dhtRecordOptions } from './dht-records.ts'
import { GossipReplays } from './gossip-replays.ts'
import { MarketplaceService } from './marketplace-service.ts'
import { nodeStateFrom } from './node-state.ts'
import { peerSummaries } from './peer-summaries.ts'
import type { SearchQuery } from '../catalog/catalog.ts'
import type { PublishResult, SearchResult } from './marketplace-service.ts'
import type { PackageManifest, PackageRecord } from '../package/schema.ts'
import type { RuntimeConfig } from '../config.ts'
import type { DirectDialStats } from '../network/direct-connector.ts'
import type { MarketplaceServices } from '../network/libp2p-options.ts'
import type { AbortOptions, Connection, Libp2p } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type {
  MarketplaceEvents,
  MarketplaceNodeInit,
  NodeState,
  NodeStatus,
  NodeTimings,
  PeerChange,
  PeerSummary
} from './node-types.ts'

export type * from './node-types.ts'

/**
 * A marketplace peer: a libp2p node that keeps its relay connection and
 * reservation, upgrades other tabs to direct WebRTC, and reports its state.
 */
export class MarketplaceNode extends TypedEventEmitter<MarketplaceEvents> {
  readonly timings: NodeTimings = { createdAt: now() }
  readonly reputation: ReputationBook
  readonly catalog: PackageCatalog
  private readonly datastore: Datastore
  private service?: MarketplaceService
  private events?: EventSpans
  private tracer: Tracer = globalTracer()
  private ownProvider?: { shutdown: () => Promise<void> }
  private bootstrapSpan?: Span
  private bootstrapStart = 0
  private relayCount = 0
  private _libp2p?: Libp2p<MarketplaceServices>
  private keeper?: RelayKeeper
  private connector?: DirectConnector
  private icePaths?: IcePaths
  private iceCheck?: IceSelfCheck
  private state: NodeState = 'starting'
  private progress = 'loading identity'
  private stopped = false
  private lastStatusJson = ''

  private readonly init: MarketplaceNodeInit
  private nameProofs: NameProofs

  constructor(init: MarketplaceNodeInit) {
    super()
    this.init = init
    if (init.config == null && init.configUrl == null) {
      throw new InvalidConfigError('createMarketplaceNode: pass either `config` or `configUrl`')
    }
    this.datastore = init.datastore ?? new MemoryDatastore()
    this.nameProofs = new NameProofs(init.nameProofs)
    // the lists are read with the runtime config's template, known once the node starts
    this.catalog = new PackageCatalog(this.datastore, {
      proofs: { check: async (domain, publisher) => await this.nameProofs.check(domain, publisher) }
    })
    this.reputation = new ReputationBook(this.datastore)
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
    if (this._libp2p == null) {
      throw new NodeStoppedError('the marketplace node has not started yet')
    }
    return this._libp2p
  }

  get dialStats(): DirectDialStats | undefined {
    return this.connector?.stats
  }

  async start(): Promise<void> {
    if (this.stopped) {
      throw new NodeStoppedError()
    }
    const datastore = this.datastore
    const privateKey = this.init.privateKey ?? (await loadOrCreateIdentity(datastore))
    this.setProgress('loading the catalog')
    await Promise.all([this.catalog.load(), this.reputation.load()])
    this.setProgress('fetching runtime config')
    const config = this.init.config ?? (await fetchRuntimeConfig(this.init.configUrl ?? ''))
    this.refuseBlockedRelays(config.relays)
    if (config.nameProofUrl != null)
      this.nameProofs = new NameProofs({ ...this.init.nameProofs, urlTemplate: config.nameProofUrl })
    const relays = config.relays.map(r => multiaddr(r))
    this.relayCount = relays.length
    this.setUpTracing(peerIdFromPrivateKey(privateKey).toString(), config)

    const gossipReplays = new GossipReplays()
    const { options, discovery } = nodeLibp2pOptions({
      privateKey,
      datastore,
      config,
      relays,
      discoveryIntervalMs: this.init.discoveryIntervalMs ?? 1000,
      dhtRecords: dhtRecordOptions({ catalog: this.catalog, datastore }),
      appSpecificScore: gossipReplays.appSpecificScore
    })
    this._libp2p = await createLibp2p(options)
    const libp2p = this._libp2p
    const log = libp2p.logger.forComponent('marketplace:node')
    this.keeper = new RelayKeeper({ libp2p, log }, { relays, onChange: () => this.update() })
    const relayIds = this.keeper.relayPeerIds
    this.connector = new DirectConnector(
      { libp2p, log },
      {
        isRelay: id => relayIds.has(id),
        explain: errorClass =>
          explainDialError(errorClass, {
            iceServerCount: config.iceServers.length,
            localOnly: config.relays.every(isLoopbackAddr),
            ...(this.iceCheck?.result != null ? { ice: this.iceCheck.result } : {})
          }),
        onChange: peerId => {
          const direct = libp2p
            .getConnections()
            .some(c => c.remotePeer.toString() === peerId && c.status === 'open' && isDirectWebRTC(c))
          if (!direct) this.safeDispatchEvent('peer', { detail: { peerId, change: 'upgrading' } })
          this.update()
        }
      }
    )
    const connector = this.connector
    discovery()?.addEventListener('peer', evt => connector.announced(evt.detail.id.toString()))
    libp2p.addEventListener('connection:open', evt => this.onConnection(evt.detail, 'open'))
    libp2p.addEventListener('connection:close', evt => this.onConnection(evt.detail, 'close'))
    this.service = new MarketplaceService(
      {
        libp2p,
        catalog: this.catalog,
        reputation: this.reputation,
        datastore,
        privateKey,
        gossipReplays,
        log: libp2p.logger.forComponent('marketplace:service'),
        tracer: this.tracer
      },
      // a tab fills its catalog by sync from its relays only; other tabs reach it by gossip and search
      { syncScope: id => (relayIds.has(id) ? 'all' : 'none'), ...this.init.service }
    )
    await this.service.start()
    this.icePaths = new IcePaths(libp2p, conn =>
      this.safeDispatchEvent('peer', { detail: { peerId: conn.remotePeer.toString(), change: 'path' } })
    )
    this.icePaths.start()
    this.events = new EventSpans(libp2p, this.tracer, this.icePaths)
    this.events.start()
    this.timings.startedAt = now()
    this.state = 'bootstrapping'
    this.beginBootstrap()
    this.setProgress('dialing relay')
    this.keeper.start()
    this.connector.start()
    this.iceCheck = new IceSelfCheck({
      onChange: () => this.emitStatus(),
      onError: err => log.error('ICE self-check failed - %e', err)
    })
    this.iceCheck.run(config.iceServers)
  }

  status(): NodeStatus {
    const relayStates = this.keeper?.states() ?? []
    const peers = this.peers().filter(p => !p.relay)
    return {
      state: this.state,
      relays: relayStates.filter(r => r.reserved).length,
      peers: peers.length,
      directPeers: peers.filter(p => p.direct).length,
      progress: this.progress,
      relayStates,
      ...(this.iceCheck?.result != null ? { ice: this.iceCheck.result } : {})
    }
  }

  peers(): PeerSummary[] {
    if (this._libp2p == null) return []
    return peerSummaries(this._libp2p.getConnections(), {
      relayIds: this.keeper?.relayPeerIds ?? new Set(),
      upgrades: this.connector?.dialStates() ?? new Map(),
      reputation: this.reputation,
      iceOf: conn => this.icePaths?.of(conn)
    })
  }

  /** Re-dials disconnected relays now instead of waiting for the backoff. */
  retry(): void {
    this.keeper?.retryNow()
  }

  /** Resolves once the node is `online` (relay reserved). */
  async waitFor(state: NodeState, options: AbortOptions = {}): Promise<void> {
    if (this.state === state) return
    await new Promise<void>((resolve, reject) => {
      const onStatus = (evt: CustomEvent<NodeStatus>): void => {
        if (evt.detail.state === state) {
          cleanup()
          resolve()
        }
      }
      const onAbort = (): void => {
        cleanup()
        reject(options.signal?.reason as Error)
      }
      const cleanup = (): void => {
        this.removeEventListener('status', onStatus)
        options.signal?.removeEventListener('abort', onAbort)
      }
      this.addEventListener('status', onStatus)
      options.signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Publishes a package: validates the manifest (throwing `InvalidManifestError`
   * naming each bad field), signs it with this node's key, checks namespace
   * ownership and version order, then stores it locally, in the DHT and
   * announces it. Nothing is stored when any check fails.
   */
  async publish(manifest: PackageManifest, options: AbortOptions = {}): Promise<PublishResult> {
    return await this.running().publish(manifest, options)
  }

  /** Ranked search: local index, a parallel fan-out to reputable peers, and the DHT for an exact id. */
  async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchResult> {
    return await this.running().search(query, options)
  }

  /** One version of a package (the latest when `version` is omitted), from here, the DHT or peers. */
  async getPackage(
    id: string,
    version?: string,
    options: AbortOptions = {}
  ): Promise<PackageRecord | undefined> {
    return await this.running().getPackage(id, version, options)
  }

  /** Every version of a package known here or to peers, highest first. */
  async listVersions(id: string, options: AbortOptions = {}): Promise<string[]> {
    return await this.running().listVersions(id, options)
  }

  private running(): MarketplaceService {
    if (this.stopped) throw new NodeStoppedError()
    if (this.service == null) throw new NodeStoppedError('the marketplace node has not started yet')
    return this.service
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.keeper?.stop()
    this.connector?.stop()
    this.iceCheck?.stop()
    await this.service?.stop().catch(() => {})
    this.endBootstrap('stopped before going online')
    this.events?.stop()
    this.icePaths?.stop()
    await this._libp2p?.stop()
    await this.ownProvider?.shutdown().catch(() => {})
    this.state = 'offline'
    this.setProgress('stopped')
  }

  /**
   * Reports what a connection opening or closing changed for its peer:
   * `connected` (first connection), `upgraded` (a direct WebRTC connection
   * opened), `downgraded` (the last direct one closed, a relayed one remains),
   * `disconnected` (no connection left). Other changes are not reported.
   */
  private onConnection(conn: Connection, what: 'open' | 'close'): void {
    const peerId = conn.remotePeer.toString()
    // judged on the transport, not the status: a closing connection is no longer 'open'
    const direct = conn.direct && transportOf(conn) === 'webrtc'
    if (what === 'open' && direct && this.timings.firstDirectAt == null) this.timings.firstDirectAt = now()
    if (what === 'open') this.reputation.seen(peerId)
    const open = (this._libp2p?.getConnections(conn.remotePeer) ?? []).filter(
      c => c.status === 'open' && c.id !== conn.id
    )
    let change: PeerChange['change'] | undefined
    if (what === 'open') change = direct ? 'upgraded' : open.length === 0 ? 'connected' : undefined
    else if (open.length === 0) change = 'disconnected'
    else if (direct && !open.some(c => isDirectWebRTC(c))) change = 'downgraded'
    if (change != null) this.safeDispatchEvent('peer', { detail: { peerId, change } })
    this.update()
  }

  /**
   * Fails the start (offline, with the reason as its progress) when this is an https page and
   * the browser would block every relay address as mixed content: dialing them would only
   * fail again and again, with an error that does not say why.
   */
  private refuseBlockedRelays(relays: string[]): void {
    const blocked = insecureRelayAddrs(relays, globalThis.location?.protocol)
    if (blocked.length === 0 || blocked.length < relays.length) return
    const err = new InsecureRelayError(blocked)
    this.state = 'offline'
    this.setProgress(err.message)
    throw err
  }

  /** Opens a `bootstrap` span unless one is open: at start, and again after going offline. */
  private beginBootstrap(): void {
    if (this.bootstrapSpan != null) return
    this.bootstrapSpan = this.tracer.startSpan(SPAN.bootstrap, {
      attributes: {
        [ATTR.operation]: OPERATION.bootstrap,
        [ATTR.peerId]: this.peerId,
        [ATTR.bootstrapNodeCount]: this.relayCount
      }
    })
    // measured inside the span: a node's first span can take over a millisecond to start
    this.bootstrapStart = performance.now()
  }

  /** Ends the open `bootstrap` span: online, or failed with `error`. */
  private endBootstrap(error?: string): void {
    const span = this.bootstrapSpan
    if (span == null) return
    this.bootstrapSpan = undefined
    span.setAttributes({
      [ATTR.connectionTimeMs]: elapsedMs(this.bootstrapStart),
      [ATTR.connectedPeers]: this._libp2p?.getPeers().length ?? 0
    })
    if (error != null) failSpan(span, error)
    span.end()
  }

  private setUpTracing(peerId: string, config: RuntimeConfig): void {
    const tracing = this.init.tracing
    let spanEvents = this.init.spanEvents
    if (this.init.tracerProvider != null) {
      this.tracer = this.init.tracerProvider.getTracer(TRACER_NAME)
    } else if (tracing !== false && (tracing != null || config.otlpTracesEndpoint != null)) {
      const handle = createTracerProvider(peerId, { endpoint: config.otlpTracesEndpoint, ...tracing })
      this.ownProvider = handle.provider
      this.tracer = handle.provider.getTracer(TRACER_NAME)
      spanEvents ??= handle.spanEvents
    }
    spanEvents?.addEventListener('span', evt => {
      this.safeDispatchEvent('span', { detail: (evt as CustomEvent<ReadableSpan>).detail })
    })
  }

  /** Derives the state from the relay keeper ({@link nodeStateFrom}) and announces any change. */
  private update(): void {
    if (this.stopped || this.keeper == null) return
    const next = nodeStateFrom(this.keeper.states(), this.timings.onlineAt != null)
    if (next.connected && this.timings.relayConnectedAt == null) this.timings.relayConnectedAt = now()
    if (next.reserved && this.timings.onlineAt == null) this.timings.onlineAt = now()
    this.state = next.state
    this.progress = next.progress
    // the bootstrap span: open while a relay is connected and reserving, ended online or offline
    if (next.state === 'online') this.endBootstrap()
    else if (next.state === 'offline') this.endBootstrap(next.lastError ?? 'lost the relay')
    else if (next.connected) this.beginBootstrap()
    this.emitStatus()
  }

  private setProgress(progress: string): void {
    this.progress = progress
    this.emitStatus()
  }

  private emitStatus(): void {
    const status = this.status()
    const json = JSON.stringify(status)
    if (json === this.lastStatusJson) return
    this.lastStatusJson = json
    this.safeDispatchEvent('status', { detail: status })
  }
}

/** Creates and starts a marketplace node; it keeps bootstrapping in the background. */
export async function createMarketplaceNode(init: MarketplaceNodeInit): Promise<MarketplaceNode> {
  const node = new MarketplaceNode(init)
  await node.start()
  return node
}

function now(): number {
  return globalThis.performance.now()
}
