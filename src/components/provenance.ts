import type { NodeStore } from '../app/node-store.ts'
import type { PeerSummary, SearchHit } from '../core/index.ts'
import type { PackageRecord } from '../core/package/schema.ts'

/** A peer id as the UI shortens it: its last 8 characters. */
export const shortPeer = (peerId: string): string => `…${peerId.slice(-8)}`

/**
 * Where a package came from, in the one wording every panel uses: "published here", "received
 * from peer …", "from the relay's catalog", "found in the DHT", or "kept in this browser" (an
 * earlier visit brought it; this page did not see it arrive).
 */
export function provenance(
  store: NodeStore,
  record: PackageRecord,
  hit?: Pick<SearchHit, 'source' | 'from'>
): string {
  const node = store.node
  let me: string | undefined
  try {
    me = node?.peerId
  } catch {
    me = undefined // not started yet
  }
  if (me != null && record.publisher === me) return 'published here'
  // what this search brought wins; else how the record arrived while this page was open
  const arrival =
    hit != null && hit.source !== 'local' ? hit : store.arrivals.get(`${record.id}@${record.version}`)
  if (arrival == null || arrival.source === 'local') return 'kept in this browser'
  if (arrival.source === 'dht') return 'found in the DHT'
  if (arrival.from == null) return 'received from a peer'
  return isRelay(store, arrival.from)
    ? "from the relay's catalog"
    : `received from peer ${shortPeer(arrival.from)}`
}

function isRelay(store: NodeStore, peerId: string): boolean {
  const status = store.node?.status()
  return status?.relayStates.some(r => r.peerId === peerId) === true
}

/** Connected peers, as every panel counts them: tabs (and how many directly), and relays apart. */
export interface PeerCounts {
  peers: number
  direct: number
  relays: number
}

export function peerCounts(peers: PeerSummary[]): PeerCounts {
  const tabs = peers.filter(p => !p.relay)
  return { peers: tabs.length, direct: tabs.filter(p => p.direct).length, relays: peers.length - tabs.length }
}

/** "2 peers (1 direct) · the relay": the same sentence in the connection card, the peers panel and the widget. */
export function peersSentence({ peers, direct, relays }: PeerCounts): string {
  const tabs = peers === 1 ? '1 peer' : `${peers} peers`
  const relay = relays === 0 ? 'no relay' : relays === 1 ? 'the relay' : `${relays} relays`
  return `${tabs}${peers > 0 ? ` (${direct} direct)` : ''} · ${relay}`
}
