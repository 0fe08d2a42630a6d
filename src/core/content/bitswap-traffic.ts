import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { varint } from 'multiformats'
import { toString } from 'uint8arrays'
import type { Logger, PeerId } from '@libp2p/interface'

/** Content bytes exchanged with one peer over Bitswap, and the blocks of it nobody asked for. */
export interface PeerTraffic {
  /** Block bytes this node sent the peer (served). */
  sent: number
  /** Block bytes the peer sent this node. */
  received: number
  /** Blocks the peer sent that this node never asked for: altered (their hash names no block asked for) or unsolicited. */
  unwanted: number
}

/** What is read of `@helia/bitswap`'s network (4.0.x): its incoming messages and its sends. */
interface BitswapNetwork {
  addEventListener: (
    type: 'bitswap:message',
    listener: (evt: CustomEvent<{ peer: PeerId; message: IncomingMessage }>) => void
  ) => void
  sendMessage: (peer: PeerId, message: OutgoingMessage, ...rest: unknown[]) => Promise<void>
}

interface IncomingMessage {
  blocks: Array<{ prefix?: Uint8Array; data?: Uint8Array }>
}

interface OutgoingMessage {
  wantlist: Map<string, { cid: Uint8Array; cancel?: boolean }>
  blocks: Map<string, { data: Uint8Array }>
}

export interface BitswapTrafficInit {
  /** A peer sent `blocks` blocks this node never asked for (reported at most once a second per peer). */
  onUnwantedBlock?: (peer: string, blocks: number) => void
}

/** Peers whose traffic is remembered (the least recently active are forgotten first). */
const MAX_PEERS = 1_024
/** Blocks asked for that are remembered: any block named by one of them is wanted. */
const MAX_WANTED = 65_536
/** A peer sending unwanted blocks is reported at most this often. */
const REPORT_EVERY_MS = 1_000

/**
 * Bitswap's traffic per peer, and the blocks no one asked for. Bitswap names a block by the hash
 * of its bytes, so an altered block arrives as a block under another name: Bitswap drops it
 * silently. Here every block received is hashed and looked up among the blocks this node asked
 * any peer for; one that was never asked for is counted against its sender and reported, so the
 * sender loses reputation.
 *
 * It reads `@helia/bitswap`'s network, which the library keeps private: `attach` returns
 * `undefined` (and the node runs without the accounting) when that shape is not there.
 */
export class BitswapTraffic {
  private readonly peers = new Map<string, PeerTraffic>()
  private readonly wanted = new Set<string>()
  private readonly lastReport = new Map<string, number>()
  private readonly init: BitswapTrafficInit
  private readonly log: Logger

  private constructor(init: BitswapTrafficInit, log: Logger) {
    this.init = init
    this.log = log
  }

  /** Starts counting the traffic of the Bitswap block broker in `brokers` (a started Helia's). */
  static attach(brokers: unknown[], init: BitswapTrafficInit, log: Logger): BitswapTraffic | undefined {
    const network = bitswapNetworkOf(brokers)
    if (network == null) {
      log.error('the Bitswap network is not where @helia/bitswap 4.0 keeps it: no per-peer content traffic')
      return undefined
    }
    const traffic = new BitswapTraffic(init, log)
    const send = network.sendMessage.bind(network)
    network.sendMessage = async (peer, message, ...rest) => {
      traffic.sending(peer.toString(), message)
      await send(peer, message, ...rest)
    }
    network.addEventListener('bitswap:message', evt => {
      traffic.received(evt.detail.peer.toString(), evt.detail.message).catch((err: unknown) => {
        log.error('judging the blocks of %p failed - %e', evt.detail.peer, err)
      })
    })
    return traffic
  }

  /** Each peer's traffic, most recently active last. */
  byPeer(): ReadonlyMap<string, Readonly<PeerTraffic>> {
    return this.peers
  }

  private sending(peer: string, message: OutgoingMessage): void {
    for (const entry of message.wantlist.values()) {
      if (entry.cancel === true) continue
      remember(this.wanted, keyOf(CID.decode(entry.cid).multihash.bytes), MAX_WANTED)
    }
    let bytes = 0
    for (const block of message.blocks.values()) bytes += block.data.byteLength
    if (bytes > 0) this.of(peer).sent += bytes
  }

  private async received(peer: string, message: IncomingMessage): Promise<void> {
    let unwanted = 0
    let bytes = 0
    for (const block of message.blocks) {
      if (block.prefix == null || block.data == null) continue
      bytes += block.data.byteLength
      if (!this.wanted.has(await multihashKey(block.prefix, block.data))) unwanted++
    }
    if (bytes === 0) return
    const traffic = this.of(peer)
    traffic.received += bytes
    if (unwanted === 0) return
    traffic.unwanted += unwanted
    this.log('%s sent %d block(s) never asked for', peer, unwanted)
    const now = Date.now()
    if (now - (this.lastReport.get(peer) ?? 0) < REPORT_EVERY_MS) return
    remember(this.lastReport, peer, MAX_PEERS, now)
    this.init.onUnwantedBlock?.(peer, unwanted)
  }

  /** `peer`'s entry, made the most recently active. */
  private of(peer: string): PeerTraffic {
    const traffic = this.peers.get(peer) ?? { sent: 0, received: 0, unwanted: 0 }
    remember(this.peers, peer, MAX_PEERS, traffic)
    return traffic
  }
}

/** A copy of each peer's traffic now, to compare with later ({@link trafficSince}). */
export function copyOf(traffic: ReadonlyMap<string, Readonly<PeerTraffic>>): Map<string, PeerTraffic> {
  return new Map([...traffic].map(([peer, t]) => [peer, { ...t }]))
}

/** What moved since `before`: block bytes received from each peer, and the peers that sent unwanted blocks. */
export function trafficSince(
  before: ReadonlyMap<string, PeerTraffic>,
  now: ReadonlyMap<string, Readonly<PeerTraffic>>
): { received: Map<string, number>; corrupting: string[] } {
  const received = new Map<string, number>()
  const corrupting: string[] = []
  for (const [peer, t] of now) {
    const then = before.get(peer)
    if (t.received > (then?.received ?? 0)) received.set(peer, t.received - (then?.received ?? 0))
    if (t.unwanted > (then?.unwanted ?? 0)) corrupting.push(peer)
  }
  return { received, corrupting }
}

/** The network of the Bitswap broker among `brokers`, if it has the shape read here. */
function bitswapNetworkOf(brokers: unknown[]): BitswapNetwork | undefined {
  for (const broker of brokers) {
    const network = (broker as { name?: string; bitswap?: { network?: Partial<BitswapNetwork> } }).bitswap
      ?.network
    if (
      (broker as { name?: string }).name === 'bitswap' &&
      typeof network?.sendMessage === 'function' &&
      typeof network.addEventListener === 'function'
    )
      return network as BitswapNetwork
  }
  return undefined
}

/**
 * The key of the multihash of `data` hashed as its Bitswap `prefix` says (CID version, codec,
 * hash function, length). This network's content is sha2-256 only (PROTOCOL.md §6a): a block
 * under any other hash function was not asked for.
 */
async function multihashKey(prefix: Uint8Array, data: Uint8Array): Promise<string> {
  let offset = 0
  const fields: number[] = []
  for (let i = 0; i < 4; i++) {
    const [value, length] = varint.decode(prefix, offset)
    fields.push(value)
    offset += length
  }
  if (fields[2] !== sha256.code || fields[3] !== 32) return 'unsupported'
  return keyOf((await sha256.digest(data)).bytes)
}

function keyOf(multihash: Uint8Array): string {
  return toString(multihash, 'base16')
}

/** Puts `key` (as the newest) into a map or set bounded to `max` entries, forgetting the oldest. */
function remember<K, V>(into: Map<K, V> | Set<K>, key: K, max: number, value?: V): void {
  into.delete(key)
  if (into instanceof Map) into.set(key, value as V)
  else into.add(key)
  if (into.size > max) into.delete(into.keys().next().value as K)
}
