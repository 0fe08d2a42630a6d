import { ContentNotFoundError, UnwantedBlockError } from '../content/errors.ts'
import { MEDIA_TYPE } from '../package/schema.ts'
import { NamespaceDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { ATTR, EXTRA_SPAN } from '../telemetry/schema.ts'
import { elapsedMs, inSpan } from '../telemetry/tracing.ts'
import type { PeerTraffic } from '../content/bitswap-traffic.ts'
import type {
  ContentInput,
  ContentProgress,
  ContentStore,
  ContentStoreInit
} from '../content/content-store.ts'
import type { PackageManifest, PackageRecord } from '../package/schema.ts'
import type { PeerFeedback } from './peer-feedback.ts'
import type { OperationOptions } from '../telemetry/tracing.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Tracer } from '@opentelemetry/api'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'

/** What the marketplace needs of a content store (`ContentStore`, loaded when first needed). */
export type ContentStoreLike = Pick<ContentStore, 'add' | 'fetch' | 'keep' | 'drop'>

/** The `content` field of a manifest. */
export type ContentField = NonNullable<PackageManifest['content']>

/** What `fetchContent` returns: the verified bytes and the peers that sent them. */
export interface FetchedContent {
  cid: string
  size: number
  bytes: Uint8Array
  peers: string[]
}

export interface FetchContentOptions extends OperationOptions {
  onProgress?: (progress: ContentProgress) => void
}

export interface PackageContentComponents {
  /** The node's content store, created on first use. */
  store: () => Promise<ContentStoreLike>
  tracer: Tracer
}

/**
 * A package's content in the marketplace: imported before its record is signed, so the signature
 * covers its CID and size (`store_content`, a child of `publish`), and fetched by a package's id
 * (`fetch_content`).
 */
export class PackageContent {
  private readonly components: PackageContentComponents
  /** Content newly kept by a publish still under way: dropped if that publish fails. */
  private readonly fresh = new Set<string>()

  constructor(components: PackageContentComponents) {
    this.components = components
  }

  /** Imports `content` and returns the manifest's `content` field; the store keeps it. */
  async store(content: ContentInput, options: OperationOptions = {}): Promise<ContentField> {
    return await inSpan(this.components.tracer, EXTRA_SPAN.storeContent, {}, options.parent, async span => {
      const start = performance.now()
      const store = await this.components.store()
      const { cid, size, fresh } = await store.add(content, options)
      if (fresh) this.fresh.add(cid)
      span.setAttributes({ [ATTR.cid]: cid, [ATTR.bytes]: size, [ATTR.latencyMs]: elapsedMs(start) })
      return { cid, size, ...describeFile(content) }
    })
  }

  /**
   * Forgets content imported for a publish that then failed, unless it was kept before (the same
   * bytes published with another package or version).
   */
  async drop(field: ContentField): Promise<void> {
    if (this.fresh.delete(field.cid)) await (await this.components.store()).drop(field.cid)
  }

  /** The publish that stored it succeeded: its content stays whatever later publishes do. */
  kept(field: ContentField): void {
    this.fresh.delete(field.cid)
  }

  /** The content of `record`, verified, from here or from the peers that have it. */
  async fetch(record: PackageRecord, options: FetchContentOptions = {}): Promise<FetchedContent> {
    const content = record.content
    if (content == null)
      throw new ContentNotFoundError(`${record.id}@${record.version} was published without content`)
    const attributes = {
      [ATTR.operation]: EXTRA_SPAN.fetchContent,
      [ATTR.packageId]: record.id,
      [ATTR.packageVersion]: record.version,
      [ATTR.cid]: content.cid
    }
    return await inSpan(
      this.components.tracer,
      EXTRA_SPAN.fetchContent,
      attributes,
      options.parent,
      async span => {
        const start = performance.now()
        const store = await this.components.store()
        const { bytes, peers, source, bytesByPeer } = await store.fetch(content.cid, {
          size: content.size,
          ...(options.signal != null ? { signal: options.signal } : {}),
          ...(options.onProgress != null ? { onProgress: options.onProgress } : {})
        })
        span.setAttributes({
          [ATTR.bytes]: bytes.byteLength,
          [ATTR.peersContributing]: peers.join(','),
          [ATTR.bytesByPeer]: Object.entries(bytesByPeer).map(([peer, n]) => `${peer}=${n}`),
          [ATTR.source]: source,
          [ATTR.latencyMs]: elapsedMs(start)
        })
        return { cid: content.cid, size: content.size, bytes, peers }
      }
    )
  }
}

/**
 * The file name and media type a `File` (or `Blob`) carries: the name as it is (the manifest's
 * rules judge it), the type without parameters when it is a plain media type.
 */
function describeFile(content: ContentInput): Pick<ContentField, 'name' | 'mediaType'> {
  if (!(content instanceof Blob)) return {}
  const name = 'name' in content && typeof content.name === 'string' ? content.name : ''
  const type = (content.type.split(';')[0] ?? '').trim().toLowerCase()
  return { ...(name !== '' ? { name } : {}), ...(MEDIA_TYPE.test(type) ? { mediaType: type } : {}) }
}

/** A content store made on first use (`get`); until then it has exchanged nothing. */
export interface LazyContentStore {
  get: () => Promise<ContentStoreLike>
  /** Content bytes exchanged with each peer (`ContentStore.traffic`). */
  traffic: () => ReadonlyMap<string, Readonly<PeerTraffic>>
  stop: () => Promise<void>
}

/**
 * A content store made on first use: the content code (Helia, Bitswap, UnixFS) is loaded only
 * when a node first publishes or fetches content, so a page that never does loads none of it.
 * Blocks go to `init.blockstore` (in memory without one), their pins under `/content` in the
 * node's `datastore` when the blocks persist; then a node that kept content starts the store at
 * once, to serve it.
 */
export function lazyContentStore(
  components: {
    libp2p: Libp2p
    datastore: Datastore
    /** Blames peers that send blocks never asked for (`UnwantedBlockError`). */
    feedback?: Pick<PeerFeedback, 'failure'>
  },
  init: ContentStoreInit & { blockstore?: Blockstore } = {}
): LazyContentStore {
  const { blockstore, ...settings } = init
  const { libp2p, datastore, feedback } = components
  let store: Promise<ContentStore> | undefined
  let started: ContentStore | undefined
  const get = async (): Promise<ContentStore> => {
    store ??= import('../content/content-store.ts').then(async m => {
      started = await m.ContentStore.create(
        {
          libp2p,
          log: libp2p.logger.forComponent('marketplace:content'),
          ...(feedback != null
            ? {
                onUnwantedBlock: (peer: string, blocks: number) =>
                  feedback.failure(peer, new UnwantedBlockError(blocks))
              }
            : {}),
          ...(blockstore != null
            ? { blockstore, datastore: new NamespaceDatastore(datastore, new Key('/content')) }
            : {})
        },
        settings
      )
      return started
    })
    return await store
  }
  // a reloaded tab serves what it kept: with persisted pins, the store starts at once
  if (blockstore != null)
    void holdsAny(datastore, '/content/pin/')
      .then(async kept => (kept ? await get() : undefined))
      .catch((err: unknown) =>
        libp2p.logger.forComponent('marketplace:content').error('serving kept content failed - %e', err)
      )
  return {
    get,
    traffic: () => started?.traffic() ?? new Map(),
    stop: async () => {
      // a store whose creation failed has nothing to stop
      await (await store?.catch(() => undefined))?.stop()
    }
  }
}

/** Whether `datastore` holds any key under `prefix`. */
async function holdsAny(datastore: Datastore, prefix: string): Promise<boolean> {
  for await (const key of datastore.queryKeys({ prefix, limit: 1 })) return key != null
  return false
}
