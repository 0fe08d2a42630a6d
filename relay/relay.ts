import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { PackageCatalog } from '../src/core/catalog/catalog.ts'
import { DISCOVERY_TOPIC } from '../src/core/constants.ts'
import { DHT_DATASTORE_PREFIX, dhtRecordOptions } from '../src/core/marketplace/dht-records.ts'
import { GossipReplays } from '../src/core/marketplace/gossip-replays.ts'
import { PeerFeedback } from '../src/core/marketplace/peer-feedback.ts'
import { marketplaceService } from '../src/core/marketplace/marketplace-service.ts'
import { NameProofs } from '../src/core/marketplace/name-proofs.ts'
import { ReputationBook } from '../src/core/marketplace/reputation.ts'
import { createHttpServer } from './http.ts'
import { EventSpans } from '../src/core/telemetry/event-spans.ts'
import { createTracerProvider } from '../src/otel/tracer-provider.ts'
import { TRACER_NAME } from '../src/core/telemetry/schema.ts'
import { loadRelayIdentity } from './identity.ts'
import { freeReservationsOnDisconnect, relayLibp2pOptions } from './libp2p-options.ts'
import { DhtMirror } from './dht-mirror.ts'
import { ContentKeeper } from './content-keeper.ts'
import { createEmbeddedCollector, relayTracing } from './collector/embedded.ts'
import { openRelayDatastore } from './datastore.ts'
import { publicOnlyFetch } from './name-proof-fetch.ts'
import { connectionGate, reservationGate } from './reservation-gate.ts'
import { explainListenError, listen } from './listen.ts'
import { checkAnnounceAddrs, defaultPublicOrigins } from './config/addresses.ts'
import { PublicOrigins } from './public-origins.ts'
import { loadCertificate, watchCertificate } from './tls.ts'
import { iceServersFor } from './turn-credentials.ts'
import { EventLoopMonitor } from './event-loop-monitor.ts'
import { RelayPeering, peerIdOf } from './relay-peering.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PackageEvent } from '../src/core/catalog/catalog.ts'
import type { Collector } from './collector/collector.ts'
import type { PeerRelayChange, PeerRelayState } from './relay-peering.ts'
import type { CertificateChange, LoadedCertificate } from './tls.ts'
import type { RelayConfig } from './config.ts'
import type { RelayServices } from './libp2p-options.ts'
import type { RuntimeConfig } from '../src/core/config.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Server as HttpsServer } from 'node:https'

/**
 * The relay's catalog holds every package of its network, ten times a tab's (each record at most
 * 16 KiB, most near 1 KiB); one publisher key gets as much room as in a tab.
 */
export const RELAY_CATALOG_LIMITS = { maxRecords: 500_000, maxRecordsPerPublisher: 1_000 } as const

export { ListenError } from './listen.ts'

/** A running relay. */
export interface Relay {
  readonly libp2p: Libp2p<RelayServices>
  readonly peerId: string
  /** The relay's libp2p addresses, each ending in `/p2p/<peer id>`. */
  multiaddrs(): string[]
  /** Base URL the HTTP side (web app, config, collector) listens at: `https://…` with TLS. */
  readonly httpUrl: string
  /** The origins people reach the web side at (`PUBLIC_ORIGINS` or its default); the first is canonical. */
  readonly publicOrigins: readonly string[]
  /** The `/config.json` document, its URLs built for `origin` (a public origin; the canonical one by default). */
  runtimeConfig(origin?: string): RuntimeConfig
  /** The relay's copy of the package catalog. */
  readonly catalog: PackageCatalog
  /** The embedded OTLP collector. */
  readonly collector: Collector
  /** The configured peer relays (`RELAY_PEERS`, this relay excluded) and their connection state. */
  peerRelays(): PeerRelayState[]
  /** Resolves once every record the catalog accepted so far is in the relay's DHT (or failed to be). */
  dhtMirrorIdle(): Promise<void>
  /** Resolves once the content of every record heard of so far is kept (or given up). */
  contentIdle(): Promise<void>
  stop(): Promise<void>
}

/** Optional callbacks of {@link createRelay}. */
export interface RelayHooks {
  /** A peer relay connected, disconnected, or could not be reached (once per outage). */
  onPeerRelayChange?: (change: PeerRelayChange) => void
  /** A record entered the relay's catalog (from gossip, a sync, …); called from the first, before the relay connects to anyone. */
  onPackage?: (event: PackageEvent) => void
  /** The TLS files changed: the renewed certificate is in use, or the new files were refused (the old one stays). */
  onCertificateChange?: (change: CertificateChange) => void
}

/**
 * Starts a relay: circuit-relay-v2 server, DHT server, gossipsub hub, and the
 * HTTP server. Its identity and datastore live in `config.dataDir`.
 */
export async function createRelay(
  config: RelayConfig,
  version = '0.0.0',
  hooks: RelayHooks = {}
): Promise<Relay> {
  // a certificate that cannot be used stops the start, before anything is opened
  const certificate: LoadedCertificate | undefined =
    config.tls != null ? loadCertificate(config.tls) : undefined
  const privateKey = await loadRelayIdentity(config.dataDir)
  // one RELAY_PEERS list can serve every relay of a network: each skips itself
  const ownId = peerIdFromPrivateKey(privateKey).toString()
  const relayPeers = (config.relayPeers ?? []).map(ma => multiaddr(ma)).filter(ma => peerIdOf(ma) !== ownId)
  const peerRelayIds = new Set(relayPeers.map(ma => peerIdOf(ma)))
  checkAnnounceAddrs(config.announceAddrs ?? [], ownId, join(config.dataDir, 'identity.key'))
  const datastore = await openRelayDatastore(join(config.dataDir, 'datastore'))

  // the relay keeps the whole catalog (persisted), answers search and sync
  // requests, and stores DHT records: late joiners always find a full copy here
  // domain namespaces: read their lists from public addresses only, unless the operator named the place
  const proofs = new NameProofs(
    config.nameProofUrl != null ? { urlTemplate: config.nameProofUrl } : { fetch: publicOnlyFetch() }
  )
  const catalog = new PackageCatalog(datastore, { ...RELAY_CATALOG_LIMITS, proofs })
  await catalog.load()
  const { onPackage } = hooks
  if (onPackage != null) catalog.addEventListener('package', evt => onPackage(evt.detail))
  const reputation = new ReputationBook(datastore)
  await reputation.load()

  // known once the HTTP server is bound (PORT 0 picks a port); no request arrives before
  const web: { origins?: PublicOrigins } = {}
  const { collector, store, forwarder } = await createEmbeddedCollector(config, () => web.origins)

  // replays on the packages topic, counted by the marketplace and scored by gossipsub
  const gossipReplays = new GossipReplays()
  let libp2p: Libp2p<RelayServices>
  try {
    libp2p = await createLibp2p(
      relayLibp2pOptions({
        privateKey,
        datastore,
        host: config.host,
        relayPort: config.relayPort,
        dhtRecords: dhtRecordOptions(
          { catalog, datastore },
          { datastorePrefix: DHT_DATASTORE_PREFIX, addToCatalog: true }
        ),
        appSpecificScore: gossipReplays.appSpecificScore,
        relayPeers,
        announce: config.announceAddrs ?? [],
        ...(certificate != null ? { tls: certificate } : {}),
        // reads the node once it runs (a reservation request comes in only then)
        denyReservation: reservationGate({
          reservations: () => libp2p.services.relay.reservations.entries(),
          addressOf: peer => libp2p.getConnections(peer)[0]?.remoteAddr
        }),
        denyConnection: connectionGate({ connections: () => libp2p.getConnections().map(c => c.remoteAddr) })
      })
    )
  } catch (err) {
    await datastore.close()
    throw explainListenError(err, 'RELAY_PORT', config.host, config.relayPort)
  }
  freeReservationsOnDisconnect(libp2p)
  // every record the catalog accepts is answered by the relay's DHT too, even when its publisher's PUT missed
  const dhtMirror = new DhtMirror({
    datastore,
    catalog,
    log: libp2p.logger.forComponent('marketplace:dht-mirror')
  })
  dhtMirror.start()
  // the relay is the hub through which tabs first meet: it must subscribe to
  // forward (gossipsub only relays topics it is subscribed to)
  libp2p.services.pubsub.subscribe(DISCOVERY_TOPIC)
  // the relay traces its own side (connections, the requests it answers) into the same collector
  const tracing = createTracerProvider(
    libp2p.peerId.toString(),
    relayTracing(config, collector, version),
    NodeTracerProvider
  )
  const tracer = tracing.provider.getTracer(TRACER_NAME)
  const events = new EventSpans(libp2p, tracer)
  events.start()
  // package content: kept in DATA_DIR/blocks up to CONTENT_QUOTA, served over Bitswap
  const contentKeeper = new ContentKeeper(
    {
      libp2p,
      catalog,
      datastore,
      dataDir: config.dataDir,
      feedback: new PeerFeedback({ reputation, tracer })
    },
    config.content
  )
  const marketplace = marketplaceService({
    // everything from peer relays; from any other peer (a tab) only what it published itself,
    // so its records reach the relay even when published while the relay was away
    syncScope: id => (peerRelayIds.has(id) ? 'all' : 'own')
  })({
    tracer,
    libp2p,
    catalog,
    reputation,
    datastore,
    gossipReplays,
    log: libp2p.logger.forComponent('marketplace:relay'),
    content: contentKeeper.contentStore
  })
  await marketplace.start()
  await contentKeeper.start()
  const peering = new RelayPeering(
    { libp2p, marketplace, log: libp2p.logger.forComponent('marketplace:relay-peers') },
    { peers: relayPeers, ...(hooks.onPeerRelayChange != null ? { onChange: hooks.onPeerRelayChange } : {}) }
  )
  await peering.start()

  const multiaddrs = (): string[] => libp2p.getMultiaddrs().map(ma => ma.toString())
  const runtimeConfig = (origin = web.origins?.primary ?? ''): RuntimeConfig => ({
    relays: multiaddrs(),
    iceServers: iceServersFor(config.ice),
    otlpTracesEndpoint: `${origin}/v1/traces`,
    ...(config.jaegerUiUrl != null ? { jaegerUrl: config.jaegerUiUrl } : {}),
    ...(config.nameProofUrl != null ? { nameProofUrl: config.nameProofUrl } : {}),
    version
  })

  const eventLoop = new EventLoopMonitor()
  const server = createHttpServer({
    staticDir: config.staticDir,
    collector,
    runtimeConfig: req => runtimeConfig(web.origins?.forRequest(req)),
    ...(certificate != null ? { tls: certificate } : {}),
    health: () => ({
      peerId: libp2p.peerId.toString(),
      connections: libp2p.getConnections().length,
      reservations: libp2p.services.relay.reservations.size,
      packages: catalog.size,
      dhtMirror: { ...dhtMirror.stats },
      spans: store.size,
      ...(relayPeers.length > 0 ? { peerRelays: peering.states() } : {}),
      ...(forwarder != null ? { upstream: forwarder.stats } : {}),
      collector: collector.stats,
      content: contentKeeper.stats,
      eventLoopDelayMaxMs: eventLoop.maxDelayMs(),
      eventLoopBusyMaxMs: eventLoop.maxBusyMs()
    })
  })
  try {
    await listen(server, config.port, config.host)
  } catch (err) {
    peering.stop()
    await libp2p.stop()
    await datastore.close()
    throw explainListenError(err, 'PORT', config.host, config.port)
  }
  // from here on: start-up work is done, what the monitor sees is what requests cost
  eventLoop.start()
  const address = server.address()
  const port = typeof address === 'object' && address != null ? address.port : config.port
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host
  const tls = certificate != null
  const publicOrigins = new PublicOrigins({
    origins: config.publicOrigins ?? defaultPublicOrigins(config.host, port, tls),
    trustProxy: config.trustProxy ?? false,
    tls
  })
  web.origins = publicOrigins
  const watcher = watchCertificate(config.tls, certificate, {
    server: server as HttpsServer,
    renewal: libp2p.services.tlsRenewal,
    ...(hooks.onCertificateChange != null ? { onChange: hooks.onCertificateChange } : {})
  })

  return {
    libp2p,
    peerId: libp2p.peerId.toString(),
    multiaddrs,
    httpUrl: `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`,
    publicOrigins: publicOrigins.origins,
    runtimeConfig,
    catalog,
    collector,
    peerRelays: () => peering.states(),
    dhtMirrorIdle: async () => await dhtMirror.idle(),
    contentIdle: async () => await contentKeeper.idle(),
    async stop() {
      watcher?.stop()
      peering.stop()
      await dhtMirror.stop()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      eventLoop.stop()
      await collector.stop()
      await marketplace.stop()
      await contentKeeper.stop()
      events.stop()
      await tracing.provider
        .shutdown()
        .catch((err: unknown) =>
          libp2p.logger.forComponent('marketplace:relay').error('the last spans were not exported - %e', err)
        )
      forwarder?.stop()
      await store.flush()
      await libp2p.stop()
      await datastore.close()
    }
  }
}
