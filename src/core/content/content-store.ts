import { withBitswap } from '@helia/bitswap'
import { unixfs } from '@helia/unixfs'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { createHeliaLight } from 'helia'
import drain from 'it-drain'
import createMortice from 'mortice'
import { CID } from 'multiformats/cid'
import { BitswapTraffic, copyOf, trafficSince } from './bitswap-traffic.ts'
import { bitswapPeers, knownSize, limitedChunks } from './content-input.ts'
import { ContentMismatchError, ContentNotFoundError, ContentTooLargeError } from './errors.ts'
import type { BitswapTrafficInit, PeerTraffic } from './bitswap-traffic.ts'
import type { ContentInput, ContentProgress, FetchedBlocks } from './content-input.ts'
import type { UnixFS } from '@helia/unixfs'
import type { AbortOptions, Libp2p, Logger } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'

export type { ContentInput, ContentProgress, FetchedBlocks } from './content-input.ts'

export interface ContentStoreComponents {
  libp2p: Libp2p
  /** Where blocks are kept. @default in memory */
  blockstore?: Blockstore
  /** Where the pins (what this node keeps and serves) are kept. @default in memory */
  datastore?: Datastore
  log: Logger
  /** A peer sent blocks this node never asked for (altered or unsolicited): blame it. */
  onUnwantedBlock?: BitswapTrafficInit['onUnwantedBlock']
}

export interface ContentStoreInit {
  /** Largest content this node publishes or fetches (bytes). @default 104857600 (100 MiB) */
  maxBytes?: number
  /** A fetch that gets no block for this long gives up (ms). @default 30000 */
  stallTimeoutMs?: number
}

type HeliaLight = ReturnType<typeof createHeliaLight>

/** Stores made in this process: each names its own mutex. */
let storeCount = 0

/**
 * Package content in a content-addressed store, shared peer to peer: Helia with Bitswap on the
 * node's own libp2p, files in UnixFS (CIDv1, raw leaves, sha2-256). What this node publishes or
 * fetches is pinned: it keeps it and serves it to others. Every block is checked against its CID
 * as it arrives (Bitswap names a block by the hash of its bytes), so a wrong block is never taken.
 */
export class ContentStore {
  private readonly helia: HeliaLight
  private readonly fs: UnixFS
  private readonly libp2p: Libp2p
  private readonly log: Logger
  private readonly maxBytes: number
  private readonly stallTimeoutMs: number
  private readonly onUnwantedBlock: ContentStoreComponents['onUnwantedBlock']
  private counter?: BitswapTraffic
  /**
   * Imports and fetches hold it shared while their blocks are not yet pinned; dropping unpinned
   * blocks (garbage collection) holds it alone, so it never takes another import's blocks.
   */
  private readonly pinning = createMortice({
    // mutexes are shared by name within a process (Helia's blockstore uses the default, 'lock')
    name: `p2p-marketplace:content-pins:${++storeCount}`,
    singleProcess: true
  })

  private constructor(components: ContentStoreComponents, init: ContentStoreInit) {
    this.libp2p = components.libp2p
    this.log = components.log
    this.maxBytes = init.maxBytes ?? 100 * 1024 * 1024
    this.stallTimeoutMs = init.stallTimeoutMs ?? 30_000
    this.onUnwantedBlock = components.onUnwantedBlock
    this.helia = createHeliaLight({
      blockstore: components.blockstore ?? new MemoryBlockstore(),
      datastore: components.datastore ?? new MemoryDatastore(),
      logger: components.libp2p.logger
    })
    // Bitswap runs on the node's libp2p: Helia's own libp2p mixin would create another node
    Object.defineProperty(this.helia, 'libp2p', { value: components.libp2p })
    withBitswap(this.helia as Parameters<typeof withBitswap>[0])
    this.fs = unixfs(this.helia)
  }

  /** A started store: Bitswap answers other peers from here on. */
  static async create(
    components: ContentStoreComponents,
    init: ContentStoreInit = {}
  ): Promise<ContentStore> {
    const store = new ContentStore(components, init)
    await store.helia.start()
    store.counter = BitswapTraffic.attach(
      // Helia keeps its brokers on the instance; its interface does not name them
      (store.helia as unknown as { blockBrokers?: unknown[] }).blockBrokers ?? [],
      store.onUnwantedBlock != null ? { onUnwantedBlock: store.onUnwantedBlock } : {},
      store.log
    )
    return store
  }

  /** Content bytes exchanged with each peer over Bitswap (served and received), and unwanted blocks. */
  traffic(): ReadonlyMap<string, Readonly<PeerTraffic>> {
    return this.counter?.byPeer() ?? new Map()
  }

  async stop(): Promise<void> {
    await this.helia.stop()
  }

  /**
   * Imports `content`, keeps (pins) it and returns its CID and size, and whether it is newly kept
   * (`fresh`: false when the same bytes were kept already). Over `maxBytes` it throws
   * `ContentTooLargeError` and keeps nothing of it.
   */
  async add(
    content: ContentInput,
    options: AbortOptions = {}
  ): Promise<{ cid: string; size: number; fresh: boolean }> {
    const known = knownSize(content)
    if (known != null && known > this.maxBytes) throw new ContentTooLargeError(this.maxBytes, known)
    const counter = { size: 0 }
    const release = await this.pinning.readLock()
    let cid: CID
    let fresh: boolean
    try {
      cid = await this.fs.addByteStream(limitedChunks(content, counter, this.maxBytes, options), {
        signal: options.signal
      })
      // kept (pinned) and served from here on
      fresh = await this.pin(cid, { signal: options.signal })
    } catch (err) {
      release()
      // blocks written before the failure belong to nothing pinned: drop them
      await this.collectGarbage().catch((gcErr: unknown) =>
        this.log.error('dropping a failed import failed - %e', gcErr)
      )
      throw err
    }
    release()
    return { cid: cid.toString(), size: counter.size, fresh }
  }

  /**
   * The content `cid` of `size` bytes, from this store or from the peers that have it; kept and
   * served from here on. A fetch that gets no block for `stallTimeoutMs` ends in
   * `ContentNotFoundError` naming the peers asked; content of another size than `size` in
   * `ContentMismatchError`.
   */
  async fetch(
    cid: string,
    options: AbortOptions & { size: number; onProgress?: (progress: ContentProgress) => void }
  ): Promise<FetchedBlocks> {
    if (options.size > this.maxBytes) throw new ContentTooLargeError(this.maxBytes, options.size)
    const root = CID.parse(cid)
    const source = (await this.helia.pins.isPinned(root, options)) ? 'local' : 'peer'
    const peers = new Set<string>()
    const stall = new AbortController()
    let timer = setTimeout(() => stall.abort(), this.stallTimeoutMs)
    const started = performance.now()
    const before = copyOf(this.traffic())
    const bytes = new Uint8Array(options.size)
    let received = 0
    let failure: { err: unknown } | undefined
    const release = await this.pinning.readLock()
    try {
      const signal = AbortSignal.any([stall.signal, ...(options.signal != null ? [options.signal] : [])])
      for await (const chunk of this.fs.cat(root, {
        signal,
        onProgress: evt => {
          // Bitswap's own event, passed through (not in the types of `cat`'s events)
          if ((evt.type as string) !== 'bitswap:block') return
          const sender = (
            evt.detail as { sender?: { toString: () => string } } | undefined
          )?.sender?.toString()
          if (sender != null) peers.add(sender)
        }
      })) {
        if (received + chunk.byteLength > options.size)
          throw new ContentMismatchError(`${cid} is over the ${options.size} bytes its record says`)
        bytes.set(chunk, received)
        received += chunk.byteLength
        clearTimeout(timer)
        timer = setTimeout(() => stall.abort(), this.stallTimeoutMs)
        options.onProgress?.({ bytes: received, total: options.size, peers: [...peers] })
      }
      if (received !== options.size)
        throw new ContentMismatchError(`${cid} is ${received} bytes; its record says ${options.size}`)
      // kept (pinned) and served from here on
      if (source === 'peer') await this.pin(root, { signal: options.signal })
    } catch (err) {
      failure = { err }
    } finally {
      clearTimeout(timer)
      release()
    }
    if (failure != null) {
      // the blocks of a fetch that failed belong to nothing kept: nothing half-fetched stays
      if (source === 'peer')
        await this.collectGarbage().catch((gcErr: unknown) =>
          this.log.error('dropping a failed fetch failed - %e', gcErr)
        )
      if (stall.signal.aborted && options.signal?.aborted !== true) {
        const asked = await bitswapPeers(this.libp2p)
        // peers that sent blocks never asked for meanwhile: altered blocks, most likely these
        const { corrupting } = trafficSince(before, this.traffic())
        throw new ContentNotFoundError(
          `no peer sent a block of ${cid} for ${Math.round(this.stallTimeoutMs / 1000)} s (${received} of ${options.size} bytes after ${Math.round(performance.now() - started)} ms; asked: ${asked.length > 0 ? asked.join(', ') : 'no peer speaks Bitswap'}${corrupting.length > 0 ? `; sent blocks that hash to nothing asked for (altered): ${corrupting.join(', ')}` : ''})`,
          asked,
          corrupting
        )
      }
      throw failure.err
    }
    // what each peer sent meanwhile (block bytes; a fetch beside this one counts too)
    const { received: sent } = trafficSince(before, this.traffic())
    return {
      bytes,
      peers: [...peers],
      source,
      bytesByPeer: Object.fromEntries([...peers].map(p => [p, sent.get(p) ?? 0]))
    }
  }

  /**
   * Keeps the content `cid` of `size` bytes without reading it here: its blocks are fetched from
   * the peers that have them (each checked against its CID) and pinned. Ends as `fetch` does when
   * no block comes, or the file is another size; nothing of it is kept then.
   */
  async keep(cid: string, options: AbortOptions & { size: number }): Promise<void> {
    if (options.size > this.maxBytes) throw new ContentTooLargeError(this.maxBytes, options.size)
    const root = CID.parse(cid)
    if (await this.helia.pins.isPinned(root, options)) return
    const stall = new AbortController()
    const timer = setTimeout(() => stall.abort(), this.stallTimeoutMs)
    const signal = AbortSignal.any([stall.signal, ...(options.signal != null ? [options.signal] : [])])
    const release = await this.pinning.readLock()
    try {
      // a peer may stall on any block: each one that arrives gives the rest another stall period
      await this.pin(root, {
        signal,
        onProgress: evt => {
          if ((evt.type as string) === 'bitswap:block') timer.refresh()
        }
      })
      const stats = await this.fs.stat(root, { signal })
      if (stats.type === 'directory' || stats.size !== BigInt(options.size))
        throw new ContentMismatchError(
          `${cid} is a ${stats.size}-byte ${stats.type}; its record says a ${options.size}-byte file`
        )
    } catch (err) {
      clearTimeout(timer)
      release()
      await this.drop(cid).catch((dropErr: unknown) =>
        this.log.error('dropping %s failed - %e', cid, dropErr)
      )
      if (stall.signal.aborted && options.signal?.aborted !== true)
        throw new ContentNotFoundError(
          `no peer sent a block of ${cid} for ${Math.round(this.stallTimeoutMs / 1000)} s`,
          await bitswapPeers(this.libp2p)
        )
      throw err
    }
    clearTimeout(timer)
    release()
  }

  /**
   * Keeps (pins) `root` and every block under it, fetching those not here; returns false when it
   * was kept already (the same bytes published twice, or two fetches at once).
   */
  private async pin(root: CID, options: Parameters<HeliaLight['pins']['add']>[1]): Promise<boolean> {
    try {
      await drain(this.helia.pins.add(root, options))
      return true
    } catch (err) {
      if ((err as Error).name === 'AlreadyPinnedError') return false
      throw err
    }
  }

  /** Stops keeping `cid` (content imported for a publish that then failed) and drops its blocks. */
  async drop(cid: string, options: AbortOptions = {}): Promise<void> {
    const root = CID.parse(cid)
    if (await this.helia.pins.isPinned(root, options)) await drain(this.helia.pins.rm(root, options))
    await this.collectGarbage(options)
  }

  /** Drops every block nothing pinned holds, once no import or fetch is under way. */
  private async collectGarbage(options: AbortOptions = {}): Promise<void> {
    const release = await this.pinning.writeLock()
    try {
      await this.helia.gc(options)
    } finally {
      release()
    }
  }
}
