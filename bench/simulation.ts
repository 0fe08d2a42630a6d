/**
 * Many marketplace nodes in one Node process, connected over `@libp2p/memory`:
 * how well gossip and the DHT behave at a scale the browser benchmarks cannot reach.
 *
 * **Nodes.** A lean node, not `createMarketplaceNode` (that one needs a relay, WebRTC
 * and a runtime config). Each node takes the relay's libp2p options
 * (`relayLibp2pOptions`: noise, yamux, identify, identify-push, ping, the marketplace's
 * gossipsub, kad-dht in server mode on the private protocol with the `/mkt` record
 * validator and selector) minus the circuit-relay server, with the memory transport
 * instead of WebSockets, and runs a real `MarketplaceService` on top (its own catalog,
 * reputation book and in-memory datastore): the gossip topic validator, the catalog
 * rules and the search/sync handlers are the production code. Every node is a DHT
 * server: in the real network only relays serve the DHT (a tab is a client because
 * nobody can dial it without a relay), so these nodes model dialable peers (Node
 * peers, relays). Tracing is off (the global no-op tracer), as for a node given no `tracerProvider`.
 * The memory transport adds no latency: figures are protocol and CPU cost on this
 * machine, not wide-area delay.
 *
 * **Topology.** Nodes join one after another; each dials `dialsPerNode` distinct
 * random nodes that are already up (all of them while fewer are), as a peer
 * bootstrapping from a few known addresses would. The graph is connected by
 * construction; kad-dht then opens more connections of its own (self-queries,
 * routing-table refresh), and gossipsub uses every connection. The network is ready
 * when every node has a gossipsub mesh on the packages topic and a non-empty routing
 * table (kad-dht's own condition to run a query), polled, no fixed sleeps. A mesh is
 * not required to reach D_lo (4): a late joiner with few topic peers whose grafts are
 * refused (their meshes full) keeps a mesh of 3 for good; the mesh sizes are reported.
 *
 * **Gossip.** Random nodes sign package records of their own namespace and announce
 * them on the packages topic as `MarketplaceService.publish` does
 * (`{ v: 1, record }`, PROTOCOL.md §4). A delivery is the record entering a
 * receiver's catalog from gossip (after the topic validator verified it), timed
 * from the publish call on the same clock. Ratio = deliveries / (publishes × (nodes − 1)).
 *
 * **DHT.** Random nodes put fresh signed records under their version key (the put
 * counts acknowledging servers, as the publish path does); then, for each record, a
 * random other node gets it, with the production lookup timeout (5 s). Success = the
 * lookup returned exactly the stored bytes. **Hops** of a lookup = the length of the
 * shortest referral chain from the getter's starting peers to a peer that answered
 * with the record: kad-dht starts a query at the k closest peers of its routing table
 * (hop 1); a peer first named in the `closer` list of a `PEER_RESPONSE` from a hop-h
 * peer is at hop h + 1. 0 = the getter held the record itself (the network query
 * still runs). The starting set is read from kad-dht's routing table just before the
 * query (the same `closestPeers(sha256(key), k)` call its query manager makes).
 *
 * **Memory** per node = (heap used, RSS) after the network is ready minus before the
 * first node, divided by the node count, each after a full GC (exposed at run time
 * with `v8.setFlagsFromString('--expose-gc')` when the process was not started with it).
 */
import { createHash } from 'node:crypto'
import { loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { memory } from '@libp2p/memory'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { equals, fromString } from 'uint8arrays'
import { relayLibp2pOptions } from '../relay/libp2p-options.ts'
import { sleep } from '../src/core/network/backoff.ts'
import { PackageCatalog } from '../src/core/catalog/catalog.ts'
import { PACKAGES_TOPIC } from '../src/core/constants.ts'
import { dhtRecordOptions, versionKey } from '../src/core/marketplace/dht-records.ts'
import { marketplaceService } from '../src/core/marketplace/marketplace-service.ts'
import type { MarketplaceService } from '../src/core/marketplace/marketplace-service.ts'
import { encodeRecord, signRecord } from '../src/core/package/record.ts'
import { ReputationBook } from '../src/core/marketplace/reputation.ts'
import { percentile, seededRandom, summarize } from './stats.ts'
import type { RelayServices } from '../relay/libp2p-options.ts'
import type { PackageEvent } from '../src/core/catalog/catalog.ts'
import type { PackageRecord } from '../src/core/package/schema.ts'
import type { Summary } from './stats.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

export interface SimulationInit {
  /** Connections each joining node dials. @default 4 */
  dialsPerNode?: number
  /** Gossip announcements, from random nodes. */
  publishes: number
  /** Pause between two announcements, ms. @default 500 */
  publishIntervalMs?: number
  /** Records put into the DHT (then each looked up once from another node). */
  dhtRecords: number
  /** How long the network may take to become ready, ms. @default 30000 + 600 per node */
  readyTimeoutMs?: number
  /** Seed of the random choices (topology, publishers, getters). @default 1 */
  seed?: number
  /** Progress lines (phases, readiness). @default none */
  log?: (line: string) => void
}

/** A summary with the 99th percentile too. */
export type Percentiles = Summary & { p99: number }

export interface SimulationFigures {
  nodes: number
  /** The machine's 1-minute load average when the run started and ended (other work shares the cores). */
  loadAverage: { start: number; end: number }
  /** How the nodes were connected. */
  topology: string
  dialsPerNode: number
  dialFailures: number
  /** First node created → every node started and its dials settled, ms. */
  startMs: number
  /** First node created → every node ready (meshes and routing tables formed), ms. */
  readyMs: number
  /** Nodes that met the readiness condition (all of them unless it timed out). */
  readyNodes: number
  /** Open connections per node, once ready. */
  connectionsPerNode: Summary
  /** Gossipsub mesh size on the packages topic, once ready. */
  meshPeersPerNode: Summary
  /** kad-dht routing-table size, once ready. */
  routingTablePerNode: Summary
  /** Ready → the event loop responsive again (p99 delay under 100 ms over 2 s), or the settling timeout, ms. */
  settleMs: number
  /** The event loop's p99 delay over the last 2 s of settling, ms. */
  eventLoopDelayP99Ms: number
  /** CPU the settled network used (all nodes, 5 s), % of one core (100 = one core busy). */
  idleCpuPct: number
  memory: {
    /** A full GC ran before each reading. */
    gcForced: boolean
    /** Per node, network ready, MB. */
    heapUsedPerNodeMB: number
    rssPerNodeMB: number
    /** Per node, after the gossip and DHT traffic, MB. */
    heapUsedAfterTrafficPerNodeMB: number
    rssAfterTrafficPerNodeMB: number
  }
  gossip: {
    publishes: number
    /** publishes × (nodes − 1) */
    expected: number
    deliveries: number
    deliveryRatio: number
    /** publish call → record in the receiver's catalog, ms. */
    latencyMs: Percentiles
  }
  dht: {
    records: number
    /** Puts acknowledged by at least one other server. */
    stored: number
    /** Servers that acknowledged a put. */
    acksPerPut: Summary
    putMs: Percentiles
    lookups: number
    /** Lookups that returned the record within 30 s. */
    found: number
    successRatio: number
    /** Lookups that returned it within a marketplace node's own lookup timeout (5 s). */
    foundWithinProductionTimeout: number
    /** Of the found, lookups where the getter held the record itself (0 hops). */
    localHits: number
    /** Successful lookups, call → value, ms (kad-dht answers once its query has converged). */
    lookupMs: Percentiles
    /** Successful lookups: shortest referral chain to a peer that returned the record (see the module comment). */
    hops: Summary
    /** How many successful lookups took 0, 1, 2, … hops. */
    hopHistogram: Record<string, number>
    /** Deepest hop any responding peer was at (how far the query went before converging), per lookup. */
    queryDepth: Summary
    /** Peers sent a request per lookup. */
    peersContacted: Summary
  }
  /** Stopping every node, ms. */
  stopMs: number
}

/** The relay's services without the circuit-relay server. */
type SimServices = Omit<RelayServices, 'relay'>

interface SimNode {
  index: number
  libp2p: Libp2p<SimServices>
  catalog: PackageCatalog
  service: MarketplaceService
  privateKey: PrivateKey
}

/** What the simulation reads of kad-dht's routing table (not part of the `KadDHT` interface). */
interface RoutingTableView {
  size: number
  kBucketSize: number
  closestPeers: (kadId: Uint8Array, options: { count: number }) => PeerId[]
}

const JOIN_WAVE = 10
/** The timeout a marketplace node gives one DHT lookup or store (`dhtTimeoutMs`). */
const PRODUCTION_DHT_TIMEOUT_MS = 5_000
/** The simulation waits longer, to tell slow operations from failed ones. */
const DHT_TIMEOUT_MS = 30_000
const IDLE_WINDOW_MS = 5_000

/**
 * Starts `nodes` marketplace nodes in this process, measures gossip, the DHT and
 * memory, and stops them all. See the module comment for what each figure means.
 */
export async function benchSimulation(nodes: number, init: SimulationInit): Promise<SimulationFigures> {
  if (!Number.isInteger(nodes) || nodes < 2)
    throw new RangeError(`nodes must be an integer ≥ 2, got ${nodes}`)
  const dialsPerNode = init.dialsPerNode ?? 4
  const random = seededRandom(init.seed ?? 1)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T
  const gc = exposeGc()
  const runId = Math.floor(Math.random() * 2 ** 32).toString(36)
  const log = init.log ?? ((): void => {})

  const loadStart = loadAverage1m()
  const baseline = memoryNow(gc)
  const t0 = performance.now()
  const sim: SimNode[] = []
  const dials: Promise<void>[] = []
  let dialFailures = 0
  let figures: Omit<SimulationFigures, 'stopMs'>
  let stopMs: number
  try {
    for (let i = 0; i < nodes; i++) {
      const node = await startNode(i, runId)
      const targets = shuffle([...sim], random).slice(0, dialsPerNode)
      sim.push(node)
      for (const target of targets) {
        dials.push(
          node.libp2p.dial(target.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(60_000) }).then(
            () => {},
            () => {
              dialFailures++
            }
          )
        )
      }
      // join in waves: a wave's handshakes finish before the next wave dials, so a
      // node joining does not wait behind hundreds of handshakes on a shared core
      if (sim.length % JOIN_WAVE === 0) await Promise.all(dials)
    }
    await Promise.all(dials)
    const startMs = performance.now() - t0
    log(
      `${nodes} nodes started and dialled in ${Math.round(startMs)} ms (${dialFailures} dials failed); waiting for meshes and routing tables`
    )

    const readyTimeoutMs = init.readyTimeoutMs ?? 30_000 + 600 * nodes
    const meshFormed = (n: SimNode): boolean => {
      const topicPeers = n.libp2p.services.pubsub.getSubscribers(PACKAGES_TOPIC).length
      return topicPeers > 0 && meshPeers(n).length > 0
    }
    const tableFilled = (n: SimNode): boolean => routingTable(n).size > 0
    const isReady = (n: SimNode): boolean => meshFormed(n) && tableFilled(n)
    const deadline = performance.now() + readyTimeoutMs
    let lastReport = performance.now()
    while (!sim.every(isReady) && performance.now() < deadline) {
      await sleep(100)
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now()
        log(
          `${sim.filter(isReady).length}/${nodes} nodes ready (${sim.filter(n => !meshFormed(n)).length} without a mesh, ${sim.filter(n => !tableFilled(n)).length} with an empty routing table)`
        )
        for (const n of sim.filter(n => !isReady(n)).slice(0, 3)) {
          log(
            `  node ${n.index}: ${n.libp2p.getConnections().length} connections, ${n.libp2p.services.pubsub.getSubscribers(PACKAGES_TOPIC).length} topic peers, mesh ${meshPeers(n).length}, routing table ${routingTable(n).size}`
          )
        }
      }
    }
    const readyMs = performance.now() - t0
    const readyNodes = sim.filter(isReady).length
    log(`${readyNodes}/${nodes} nodes ready at ${Math.round(readyMs)} ms; waiting for the process to settle`)
    const connectionsPerNode = summarize(sim.map(n => n.libp2p.getConnections().length))
    const meshPeersPerNode = summarize(sim.map(n => meshPeers(n).length))
    const routingTablePerNode = summarize(sim.map(n => routingTable(n).size))
    const formed = memoryNow(gc)
    // kad-dht keeps connecting for a while after every table is non-empty (refresh
    // queries); measuring gossip during that storm would time this process's event
    // loop, not the network, so wait until the loop is responsive again
    const settle = await settleEventLoop(30_000 + 150 * nodes)
    log(
      `settled after ${settle.ms} ms (event-loop delay p99 ${settle.delayP99Ms} ms); gossip: ${init.publishes} announcements`
    )
    // what the settled network costs: heartbeats, kad-dht maintenance
    const idleStart = process.cpuUsage()
    const idleFrom = performance.now()
    await sleep(IDLE_WINDOW_MS)
    const idle = process.cpuUsage(idleStart)
    const idleCpuPct = Math.round(((idle.user + idle.system) / 10 / (performance.now() - idleFrom)) * 10) / 10

    const gossip = await measureGossip(sim, init.publishes, init.publishIntervalMs ?? 500, pick)
    log(
      `gossip: ${gossip.deliveries}/${gossip.expected} delivered; DHT: ${init.dhtRecords} puts, then as many gets`
    )
    const dht = await measureDht(sim, init.dhtRecords, pick, log)
    log(`DHT: ${dht.found}/${dht.lookups} found; stopping ${nodes} nodes`)
    const afterTraffic = memoryNow(gc)

    const perNodeMB = (bytes: number): number => Math.round((bytes / nodes / 2 ** 20) * 100) / 100
    figures = {
      nodes,
      loadAverage: { start: loadStart, end: 0 },
      topology: `nodes join in turn, each dialling ${dialsPerNode} random nodes already up; kad-dht adds its own connections`,
      dialsPerNode,
      dialFailures,
      startMs: Math.round(startMs),
      readyMs: Math.round(readyMs),
      readyNodes,
      connectionsPerNode,
      meshPeersPerNode,
      routingTablePerNode,
      settleMs: settle.ms,
      eventLoopDelayP99Ms: settle.delayP99Ms,
      idleCpuPct,
      memory: {
        gcForced: gc != null,
        heapUsedPerNodeMB: perNodeMB(formed.heapUsed - baseline.heapUsed),
        rssPerNodeMB: perNodeMB(formed.rss - baseline.rss),
        heapUsedAfterTrafficPerNodeMB: perNodeMB(afterTraffic.heapUsed - baseline.heapUsed),
        rssAfterTrafficPerNodeMB: perNodeMB(afterTraffic.rss - baseline.rss)
      },
      gossip,
      dht
    }
  } finally {
    // dials still in flight (after a failure above) must not outlive the nodes
    await Promise.allSettled(dials)
    const stopping = performance.now()
    await Promise.allSettled(
      sim.map(async n => {
        await n.service.stop()
        await n.libp2p.stop()
      })
    )
    stopMs = Math.round(performance.now() - stopping)
  }
  return {
    ...figures,
    loadAverage: { ...figures.loadAverage, end: loadAverage1m() },
    stopMs
  }
}

/** One node: the relay's libp2p options over the memory transport, without the circuit-relay server. */
async function startNode(index: number, runId: string): Promise<SimNode> {
  const datastore = new MemoryDatastore()
  const privateKey = await generateKeyPair('Ed25519')
  const catalog = new PackageCatalog(datastore)
  const reputation = new ReputationBook(datastore)
  await Promise.all([catalog.load(), reputation.load()])
  const options = relayLibp2pOptions({
    privateKey,
    datastore,
    host: '127.0.0.1',
    relayPort: 0,
    dhtRecords: dhtRecordOptions({ catalog, datastore })
  })
  const services = options.services
  if (services == null) throw new Error('relayLibp2pOptions returned no services')
  // the relay's factories are typed against its whole service map; none of them needs the relay server
  const simServices = {
    identify: services.identify,
    identifyPush: services.identifyPush,
    ping: services.ping,
    pubsub: services.pubsub,
    dht: services.dht
  } as unknown as NonNullable<Libp2pOptions<SimServices>['services']>
  const libp2p = await createLibp2p<SimServices>({
    ...options,
    addresses: { listen: [`/memory/mkt-sim-${runId}-${index}`] },
    transports: [memory()],
    // in one process a liveness ping says nothing (a stalled event loop stalls every
    // node at once, and nothing in memory dies), while ~300 pings/s cost a tenth of the CPU
    connectionMonitor: { enabled: false },
    services: simServices
  })
  const service = marketplaceService()({
    libp2p,
    catalog,
    reputation,
    datastore,
    privateKey,
    log: libp2p.logger.forComponent('marketplace:simulation')
  })
  await service.start()
  return { index, libp2p, catalog, service, privateKey }
}

async function measureGossip(
  sim: SimNode[],
  publishes: number,
  intervalMs: number,
  pick: <T>(items: T[]) => T
): Promise<SimulationFigures['gossip']> {
  const expected = publishes * (sim.length - 1)
  const sentAt = new Map<string, number>()
  const latencies: number[] = []
  let allDelivered: () => void = () => {}
  const delivered = new Promise<void>(resolve => {
    allDelivered = resolve
  })
  const onPackage = (evt: CustomEvent<PackageEvent>): void => {
    const sent = sentAt.get(evt.detail.record.id)
    if (evt.detail.source !== 'gossip' || sent == null) return
    latencies.push(performance.now() - sent)
    if (latencies.length === expected) allDelivered()
  }
  for (const n of sim) n.catalog.addEventListener('package', onPackage)
  try {
    for (let i = 0; i < publishes; i++) {
      const publisher = pick(sim)
      const record = await signedRecord(publisher, `gossip-${i}`)
      // as MarketplaceService.publish: the publisher's own catalog first, then the announcement
      await publisher.catalog.add(record, 'local')
      const message = fromString(JSON.stringify({ v: 1, record }))
      sentAt.set(record.id, performance.now())
      await publisher.libp2p.services.pubsub.publish(PACKAGES_TOPIC, message)
      await sleep(intervalMs)
    }
    // stragglers get a generous while; whatever has not arrived by then counts as lost
    let timer: NodeJS.Timeout | undefined
    await Promise.race([delivered, new Promise(resolve => (timer = setTimeout(resolve, 30_000)))])
    clearTimeout(timer)
  } finally {
    for (const n of sim) n.catalog.removeEventListener('package', onPackage)
  }
  return {
    publishes,
    expected,
    deliveries: latencies.length,
    deliveryRatio: ratio(latencies.length, expected),
    latencyMs: percentiles(latencies)
  }
}

async function measureDht(
  sim: SimNode[],
  records: number,
  pick: <T>(items: T[]) => T,
  log: (line: string) => void
): Promise<SimulationFigures['dht']> {
  const stored: { putter: SimNode; key: Uint8Array; value: Uint8Array }[] = []
  const putMs: number[] = []
  const acksPerPut: number[] = []
  for (let i = 0; i < records; i++) {
    const putter = pick(sim)
    const record = await signedRecord(putter, `dht-${i}`)
    const key = fromString(versionKey(record.id, record.version))
    const value = encodeRecord(record)
    const start = performance.now()
    let acks = 0
    try {
      for await (const event of putter.libp2p.services.dht.put(key, value, {
        signal: AbortSignal.timeout(DHT_TIMEOUT_MS)
      })) {
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') acks++
      }
    } catch {
      // a put that timed out still counts the acknowledgements it got
    }
    putMs.push(performance.now() - start)
    acksPerPut.push(acks)
    stored.push({ putter, key, value })
    if ((i + 1) % 10 === 0 && i + 1 < records) log(`DHT: ${i + 1}/${records} puts`)
  }

  const lookups: Lookup[] = []
  for (const { putter, key, value } of stored) {
    const getter = pick(sim.filter(n => n !== putter))
    lookups.push(await lookup(getter, key, value))
    if (lookups.length % 10 === 0 && lookups.length < stored.length)
      log(`DHT: ${lookups.length}/${stored.length} gets, ${lookups.filter(l => l.found).length} found`)
  }
  const found = lookups.filter(l => l.found)
  const hops = found.map(l => l.hops).filter(h => h != null)
  const hopHistogram: Record<string, number> = {}
  for (const h of hops) hopHistogram[String(h)] = (hopHistogram[String(h)] ?? 0) + 1
  return {
    records,
    stored: acksPerPut.filter(a => a > 0).length,
    acksPerPut: summarize(acksPerPut),
    putMs: percentiles(putMs),
    lookups: lookups.length,
    found: found.length,
    successRatio: ratio(found.length, lookups.length),
    foundWithinProductionTimeout: found.filter(l => l.ms <= PRODUCTION_DHT_TIMEOUT_MS).length,
    localHits: found.filter(l => l.hops === 0).length,
    lookupMs: percentiles(found.map(l => l.ms)),
    hops: summarize(hops),
    hopHistogram,
    queryDepth: summarize(lookups.map(l => l.depth)),
    peersContacted: summarize(lookups.map(l => l.contacted))
  }
}

interface Lookup {
  found: boolean
  ms: number
  /** Undefined when no holder could be traced back to a starting peer. */
  hops?: number
  depth: number
  contacted: number
}

/** One `dht.get`, with the hop count reconstructed from its query events. */
async function lookup(getter: SimNode, key: Uint8Array, expected: Uint8Array): Promise<Lookup> {
  const table = routingTable(getter)
  // the peers kad-dht's query manager starts from: the k closest to sha256(key) in the routing table
  const kadId = createHash('sha256').update(key).digest()
  const starting = table.closestPeers(kadId, { count: table.kBucketSize }).map(String)
  const closerOf = new Map<string, string[]>()
  const holders = new Set<string>()
  let contacted = 0
  let found = false
  let local = false
  const start = performance.now()
  let ms = 0
  try {
    for await (const event of getter.libp2p.services.dht.get(key, {
      signal: AbortSignal.timeout(DHT_TIMEOUT_MS)
    })) {
      if (event.name === 'SEND_QUERY') contacted++
      if (event.name === 'PEER_RESPONSE') {
        const from = event.from.toString()
        closerOf.set(from, [...(closerOf.get(from) ?? []), ...event.closer.map(p => p.id.toString())])
        if (event.record != null && equals(event.record.value, expected)) holders.add(from)
      }
      if (event.name === 'VALUE' && equals(event.value, expected)) {
        found = true
        ms = performance.now() - start
        local = event.from.equals(getter.libp2p.peerId)
      }
    }
  } catch {
    // timed out: found stays false unless the value had already arrived
  }
  // breadth-first over the referrals: starting peers are hop 1, peers they named hop 2, …
  const hop = new Map<string, number>(starting.map(p => [p, 1]))
  const queue = [...starting]
  for (let i = 0; i < queue.length; i++) {
    const peer = queue[i] as string
    const h = hop.get(peer) ?? 1
    for (const named of closerOf.get(peer) ?? []) {
      if (hop.has(named)) continue
      hop.set(named, h + 1)
      queue.push(named)
    }
  }
  const holderHops = [...holders].map(p => hop.get(p)).filter(h => h != null)
  const depth = Math.max(0, ...[...closerOf.keys()].map(p => hop.get(p) ?? 0))
  return {
    found,
    ms,
    hops: local ? 0 : holderHops.length > 0 ? Math.min(...holderHops) : undefined,
    depth,
    contacted
  }
}

async function signedRecord(publisher: SimNode, name: string): Promise<PackageRecord> {
  return await signRecord(
    {
      id: `sim${publisher.index}/${name}`,
      version: '1.0.0',
      title: `Simulated ${name}`,
      description: `A package announced by simulated node ${publisher.index}`,
      license: 'MIT',
      tags: ['simulation']
    },
    publisher.privateKey
  )
}

function routingTable(node: SimNode): RoutingTableView {
  return (node.libp2p.services.dht as unknown as { routingTable: RoutingTableView }).routingTable
}

/** Gossipsub's mesh for the packages topic (`getMeshPeers` is on the class, not the `GossipSub` interface). */
function meshPeers(node: SimNode): string[] {
  return (
    node.libp2p.services.pubsub as unknown as { getMeshPeers: (topic: string) => string[] }
  ).getMeshPeers(PACKAGES_TOPIC)
}

/** Waits until the event loop's p99 delay over 2 s is under 100 ms, or `timeoutMs`. */
async function settleEventLoop(timeoutMs: number): Promise<{ ms: number; delayP99Ms: number }> {
  const start = performance.now()
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  let p99Ms = Number.POSITIVE_INFINITY
  try {
    while (performance.now() - start < timeoutMs) {
      delay.reset()
      await sleep(2_000)
      p99Ms = delay.percentile(99) / 1e6
      if (p99Ms < 100) break
    }
  } finally {
    delay.disable()
  }
  return { ms: Math.round(performance.now() - start), delayP99Ms: Math.round(p99Ms) }
}

/** `global.gc` when the process has it, else exposed now; undefined if neither works. */
function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing != null) return existing
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

function loadAverage1m(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100
}

function memoryNow(gc: (() => void) | undefined): { heapUsed: number; rss: number } {
  gc?.()
  const { heapUsed, rss } = process.memoryUsage()
  return { heapUsed, rss }
}

function percentiles(values: number[]): Percentiles {
  return { ...summarize(values), p99: Math.round(percentile(values, 99) * 10) / 10 }
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j] as T, items[i] as T]
  }
  return items
}
