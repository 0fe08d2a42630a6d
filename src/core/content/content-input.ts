import { ContentTooLargeError } from './errors.ts'
import type { AbortOptions, Libp2p } from '@libp2p/interface'

/** What `publish(…, { content })` takes. */
export type ContentInput = Blob | Uint8Array | ReadableStream<Uint8Array>

/** How a fetch is going: bytes so far, of `total`, and the peers that sent blocks. */
export interface ContentProgress {
  bytes: number
  total: number
  peers: string[]
}

/** A fetch's content, the peers that sent it and what each sent (`local`: it was kept here). */
export interface FetchedBlocks {
  bytes: Uint8Array
  peers: string[]
  source: 'local' | 'peer'
  bytesByPeer: Record<string, number>
}

/** The Bitswap protocols whose speakers are asked for content. */
const BITSWAP_PROTOCOLS = ['/ipfs/bitswap/1.2.0', '/ipfs/bitswap/1.1.0', '/ipfs/bitswap/1.0.0']

/** The size of `content` when known before reading it. */
export function knownSize(content: ContentInput): number | undefined {
  return content instanceof Uint8Array
    ? content.byteLength
    : content instanceof Blob
      ? content.size
      : undefined
}

/** The chunks of `content`, counted into `counter`; throws `ContentTooLargeError` past `maxBytes`. */
export async function* limitedChunks(
  content: ContentInput,
  counter: { size: number },
  maxBytes: number,
  options: AbortOptions
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunksOf(content)) {
    options.signal?.throwIfAborted()
    counter.size += chunk.byteLength
    if (counter.size > maxBytes) throw new ContentTooLargeError(maxBytes)
    yield* ownPieces(chunk)
  }
}

/** The size of a UnixFS leaf (PROTOCOL.md §6a): the importer cuts the content in such pieces. */
const LEAF_BYTES = 1024 * 1024

/**
 * `chunk` in pieces that own their bytes. The importer cuts a leaf out of a large chunk as a view
 * of it, and a block that is a view is stored with its whole buffer: IndexedDB clones the buffer
 * behind a view, so a 16 MiB upload stored 16 MiB per 1 MiB block, and read it back as slowly.
 * A chunk that is a view, or larger than a leaf, is copied a leaf at a time.
 */
function* ownPieces(chunk: Uint8Array): Generator<Uint8Array> {
  const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
  if (owned && chunk.byteLength <= LEAF_BYTES) {
    yield chunk
    return
  }
  for (let at = 0; at < chunk.byteLength; at += LEAF_BYTES) yield chunk.slice(at, at + LEAF_BYTES)
}

/** The bytes of `content`, chunk by chunk. */
async function* chunksOf(content: ContentInput): AsyncGenerator<Uint8Array> {
  if (content instanceof Uint8Array) {
    yield content
    return
  }
  const stream = content instanceof Blob ? content.stream() : content
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}

/** Connected peers that speak Bitswap: those a fetch asked. */
export async function bitswapPeers(libp2p: Libp2p): Promise<string[]> {
  const peers = new Map(libp2p.getConnections().map(c => [c.remotePeer.toString(), c.remotePeer]))
  const speaking = await Promise.all(
    [...peers.values()].map(async peer => {
      // a peer forgotten meanwhile was not asked
      const info = await libp2p.peerStore.get(peer).catch(() => undefined)
      return info?.protocols.some(p => BITSWAP_PROTOCOLS.includes(p)) === true ? peer.toString() : undefined
    })
  )
  return speaking.filter(p => p != null)
}
