/**
 * The network benchmark's reference: a plain js-libp2p page. It runs the marketplace's libp2p
 * configuration as is (`nodeLibp2pOptions` from src/core/network: the same transports, gater,
 * connection manager settings and services), and nothing of the marketplace: no catalog, no
 * IndexedDB (an in-memory datastore and a fresh key, as libp2p's defaults), no tracing, no UI, no
 * relay keeper or direct connector. Loaded from a relay, it does what any libp2p page must do:
 * reads the relay's `/config.json`, dials the relays there (the circuit transport reserves a slot
 * on its own, asked by the `/p2p-circuit` listen address), hears other tabs on the discovery topic
 * (pubsub peer discovery, announcing every second as the app's tabs do) and dials each one's
 * `/webrtc` address. Its connection management is the least that forms a mesh: one dialer per pair
 * (the lower peer id), one dial in flight per peer, a failed pair dialled again at its next
 * announcement. It exposes `window.p2pReference` with the same figures the app's node gives the
 * benchmark (`bench/network.ts`).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { isDirectWebRTC } from '../../src/core/network/connection-info.ts'
import { nodeLibp2pOptions } from '../../src/core/network/libp2p-options.ts'
import type { RuntimeConfig } from '../../src/core/config.ts'
import type { Connection, Libp2p, PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the benchmark reads of this page (`performance.now()` times, from navigation). */
export interface ReferenceNode {
  peerId: string
  timings: { relayConnectedAt?: number; onlineAt?: number; firstDirectAt?: number }
  /** When each start-up step ended. */
  phases: Record<string, number>
  status: () => { directPeers: number }
  /** The node itself, for diagnostics. */
  libp2p: Libp2p
  dialStats: {
    attempts: number
    firstDials: number
    firstDialSuccesses: number
    recentErrors: string[]
    errorsByClass: Record<string, number>
    attemptsByPeer: Record<string, number>
  }
}

declare global {
  interface Window {
    p2pReference?: ReferenceNode
  }
}

const phases: Record<string, number> = { script_evaluated: performance.now() }
const config = (await (await fetch('/config.json', { signal: AbortSignal.timeout(10_000) })).json()) as Pick<
  RuntimeConfig,
  'relays' | 'iceServers'
>
phases.runtime_config_fetched = performance.now()
const relays = config.relays.map(r => multiaddr(r))
const relayIds = new Set(relays.map(r => r.getComponents().findLast(c => c.name === 'p2p')?.value))

const { options, discovery } = nodeLibp2pOptions({
  privateKey: await generateKeyPair('Ed25519'),
  datastore: new MemoryDatastore(),
  config: { relays: config.relays, iceServers: config.iceServers },
  relays,
  discoveryIntervalMs: 1000,
  // no marketplace records: kad-dht's defaults
  dhtRecords: {}
})
const libp2p = await createLibp2p(options)
phases.libp2p_started = performance.now()
const me = libp2p.peerId.toString()

const timings: ReferenceNode['timings'] = {}
const dialStats: ReferenceNode['dialStats'] = {
  attempts: 0,
  firstDials: 0,
  firstDialSuccesses: 0,
  recentErrors: [],
  errorsByClass: {},
  attemptsByPeer: {}
}
const directPeers = (): Set<string> =>
  new Set(
    libp2p
      .getConnections()
      .filter(c => isDirectWebRTC(c))
      .map(c => c.remotePeer.toString())
  )

libp2p.addEventListener('connection:open', evt => {
  const conn: Connection = evt.detail
  const peer = conn.remotePeer.toString()
  if (relayIds.has(peer) && conn.limits == null && timings.relayConnectedAt == null)
    timings.relayConnectedAt = phases.relay_connected = performance.now()
  if (isDirectWebRTC(conn)) timings.firstDirectAt ??= performance.now()
})
// reserved: a relay's circuit address is among ours. The circuit transport says so at once with
// `transport:listening`; libp2p's `self:peer:update` comes a debounced second later
const checkReserved = (): void => {
  const reserved = libp2p
    .getMultiaddrs()
    .some(ma => [...relayIds].some(id => ma.toString().includes(`/p2p/${id}/p2p-circuit`)))
  if (reserved && timings.onlineAt == null) timings.onlineAt = phases.relay_reserved = performance.now()
}
libp2p.addEventListener('transport:listening', checkReserved)
libp2p.addEventListener('peer:identify', evt => {
  if (relayIds.has(evt.detail.peerId.toString())) phases.relay_identified ??= performance.now()
})
libp2p.addEventListener('self:peer:update', checkReserved)

for (const relay of relays)
  libp2p.dial(relay).catch((err: unknown) => {
    dialStats.recentErrors.push(`relay ${relay.toString()}: ${String(err)}`)
  })

// one dialer per pair, one dial in flight per peer; a pair whose dial failed is dialled again
// when it next announces itself (every second)
const dialing = new Set<string>()
const dialled = new Set<string>()
const dialDirect = async (id: string, addr: Multiaddr): Promise<void> => {
  const first = !dialled.has(id)
  dialled.add(id)
  dialing.add(id)
  dialStats.attempts++
  dialStats.attemptsByPeer[id] = (dialStats.attemptsByPeer[id] ?? 0) + 1
  if (first) dialStats.firstDials++
  const started = performance.now()
  try {
    const conn = await libp2p.dial(addr)
    if (!isDirectWebRTC(conn)) throw new Error(`not direct: ${conn.remoteAddr.toString()}`)
    if (first) dialStats.firstDialSuccesses++
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error'
    dialStats.errorsByClass[name] = (dialStats.errorsByClass[name] ?? 0) + 1
    dialStats.recentErrors = [
      ...dialStats.recentErrors.slice(-9),
      `${first ? 'first dial' : 'dial'} after ${Math.round(performance.now() - started)} ms: ${String(err)}`
    ]
  } finally {
    dialing.delete(id)
  }
}
discovery()?.addEventListener('peer', evt => {
  const { id, multiaddrs }: PeerInfo = evt.detail
  const peer = id.toString()
  if (peer === me || relayIds.has(peer) || me > peer || dialing.has(peer) || directPeers().has(peer)) return
  const addr = multiaddrs.find(ma => WebRTC.matches(ma))
  if (addr == null) return
  // the announced address may lack the target: without it the dial returns the relayed connection
  void dialDirect(peer, addr.toString().endsWith(`/p2p/${peer}`) ? addr : addr.encapsulate(`/p2p/${peer}`))
})

window.p2pReference = {
  peerId: me,
  timings,
  phases,
  status: () => ({ directPeers: directPeers().size }),
  dialStats,
  libp2p
}
