import { NetworkError } from '../errors.ts'
import { waitUntil } from '../node.ts'
import { shortPackageId } from '../output.ts'
import type { Output, Progress } from '../output.ts'
import type { ServedBlocks } from '../served-blocks.ts'
import type { MarketplaceNode } from '../../core/marketplace/marketplace-node.ts'

export interface HandOverOptions {
  id: string
  version: string
  timeoutMs: number
  signal: AbortSignal
  out: Output
  progress: Progress
}

/**
 * Waits until the content just published is held by other peers, since this process takes its
 * copy away when it exits: first every block is served (the relay keeps the content of every
 * record it hears of), then the content is fetched back with the local blocks hidden, so it is
 * verified to come, whole, from the peers that kept it. Resolves with those peers.
 */
export async function handOver(
  node: MarketplaceNode,
  served: ServedBlocks,
  options: HandOverOptions
): Promise<string[]> {
  const { id, version, timeoutMs, signal, out, progress } = options
  const label = `${id}@${version}`
  const short = `${shortPackageId(id)}@${version}`
  progress.relabel(`upload ${short}`, 'to')
  const update = (): void =>
    progress.update({ bytes: served.bytes, total: served.total, peers: takers(node) })
  update()
  if (await served.allServed({ stallMs: timeoutMs, signal, onProgress: update })) {
    // the last block read is sent right after: let it leave before the local copy is hidden
    await waitUntil(
      () => sentBytes(node) >= served.total && !sendingContent(node),
      timeoutMs,
      signal,
      'sending the last blocks'
    ).catch((err: unknown) => {
      // the fetch below tells whether they arrived
      if (signal.aborted) throw err
    })
  } else
    out.note(
      `no peer asked for the content of ${label} for ${Math.round(timeoutMs / 1000)} s; checking whether the network holds it already`
    )

  progress.relabel(`verify ${short}`, 'from')
  progress.update({ bytes: 0, total: served.total })
  served.hide(true)
  try {
    const fetched = await node.fetchContent(id, version, { signal, onProgress: p => progress.update(p) })
    return fetched.peers
  } catch (err) {
    if ((err as Error).name !== 'ContentNotFoundError') throw err
    throw new NetworkError(
      `${label} is published, but no peer kept its content (${served.bytes} of ${served.total} bytes were sent); it is lost when this command ends: publish a new version to try again, or ask the relay's operator about its limits (CONTENT_MAX_BYTES, CONTENT_QUOTA, CONTENT_QUOTA_PER_PUBLISHER)`,
      { cause: err }
    )
  } finally {
    served.hide(false)
  }
}

/** Peers this node served content to (its per-peer Bitswap traffic). */
export function takers(node: MarketplaceNode): string[] {
  return node
    .peers()
    .filter(p => (p.content?.sent ?? 0) > 0)
    .map(p => p.peerId)
}

/** Content bytes handed to Bitswap for sending, to all peers. */
function sentBytes(node: MarketplaceNode): number {
  return node.peers().reduce((sum, p) => sum + (p.content?.sent ?? 0), 0)
}

/** A Bitswap message of ours is still being written to some peer. */
function sendingContent(node: MarketplaceNode): boolean {
  return node.libp2p
    .getConnections()
    .some(c => c.streams.some(s => s.direction === 'outbound' && s.protocol.startsWith('/ipfs/bitswap/')))
}
