import { MemoryBlockstore } from 'blockstore-core'
import type { Blockstore } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'

type Pair = { cid: CID; bytes: Uint8Array }

/**
 * A blockstore (in memory) for publishing content from a process that will exit: it tells
 * which of the blocks imported into it were read since `arm()` (once the record is stored, a
 * read is Bitswap serving the block to a peer, the relay keeping the content), and it can
 * `hide()` them, so that fetching the content again must get it from the peers that kept it.
 */
export class ServedBlocks {
  readonly blockstore: Blockstore
  /** Each block imported, and its size. */
  private readonly sizes = new Map<string, number>()
  private readonly served = new Set<string>()
  private servedBytes = 0
  private armed = false
  private hidden = false
  private listener?: () => void

  constructor() {
    const inner = new MemoryBlockstore()
    const note = (cid: CID, bytes: unknown): void => {
      // blocks fetched back while hidden are not new
      if (!this.sizes.has(cid.toString()))
        this.sizes.set(cid.toString(), bytes instanceof Uint8Array ? bytes.byteLength : 0)
    }
    const mine = (cid: CID): boolean => this.hidden && this.sizes.has(cid.toString())
    const overrides: Partial<Record<PropertyKey, unknown>> = {
      put: async (cid: CID, bytes: Uint8Array, options?: object) => {
        note(cid, bytes)
        return await inner.put(cid, bytes, options)
      },
      putMany: (source: Iterable<Pair> | AsyncIterable<Pair>, options?: object) =>
        inner.putMany(noted(source, note), options),
      // Helia fetches a block from peers when its blockstore says it has none
      has: async (cid: CID, options?: object) => !mine(cid) && (await inner.has(cid, options)),
      get: (cid: CID, options?: object) => {
        this.read(cid.toString())
        return inner.get(cid, options)
      }
    }
    this.blockstore = new Proxy(inner, {
      get: (target, property, receiver) => {
        if (property in overrides) return overrides[property]
        const value: unknown = Reflect.get(target, property, receiver)
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      }
    })
  }

  /** Counts reads from here on (call it once the content is imported and the record stored). */
  arm(): void {
    this.armed = true
  }

  /** While hidden, the imported blocks are absent to Helia: reading the content fetches it from peers. */
  hide(hidden: boolean): void {
    this.hidden = hidden
  }

  /** Bytes of all the blocks imported. */
  get total(): number {
    let bytes = 0
    for (const size of this.sizes.values()) bytes += size
    return bytes
  }

  /** Bytes of the blocks read (served) since `arm()`. */
  get bytes(): number {
    return this.servedBytes
  }

  /**
   * Resolves true once every block was served since `arm()`, false when none was for `stallMs`
   * (nobody asks for it: a relay that keeps it already, or that will not keep it). `onProgress`
   * hears of each block served.
   */
  async allServed(options: {
    stallMs: number
    signal: AbortSignal
    onProgress: () => void
  }): Promise<boolean> {
    const { stallMs, signal } = options
    signal.throwIfAborted()
    if (this.served.size >= this.sizes.size) return true
    return await new Promise<boolean>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer)
        this.listener = undefined
        signal.removeEventListener('abort', aborted)
      }
      const timer = setTimeout(() => {
        finish()
        resolve(false)
      }, stallMs)
      const aborted = (): void => {
        finish()
        reject(signal.reason as Error)
      }
      this.listener = () => {
        timer.refresh()
        options.onProgress()
        if (this.served.size < this.sizes.size) return
        finish()
        resolve(true)
      }
      signal.addEventListener('abort', aborted, { once: true })
    })
  }

  private read(cid: string): void {
    if (!this.armed || this.hidden || this.served.has(cid)) return
    const size = this.sizes.get(cid)
    if (size == null) return
    this.served.add(cid)
    this.servedBytes += size
    this.listener?.()
  }
}

/** `source`, each pair noted as it passes. */
async function* noted(
  source: Iterable<Pair> | AsyncIterable<Pair>,
  note: (cid: CID, bytes: unknown) => void
): AsyncGenerator<Pair> {
  for await (const pair of source) {
    note(pair.cid, pair.bytes)
    yield pair
  }
}
