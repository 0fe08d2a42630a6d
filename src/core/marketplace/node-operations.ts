import { TypedEventEmitter } from 'main-event'
import { TemporaryKeyError } from '../errors.ts'
import type { SearchQuery } from '../catalog/catalog.ts'
import type {
  MarketplaceEvents,
  PublishOptions,
  PublishResult,
  SearchResult,
  SearchStream
} from '../index.ts'
import type { PackageManifest, PackageRecord } from '../package/schema.ts'
import type { OperationOptions } from '../telemetry/tracing.ts'
import type { MarketplaceService } from './marketplace-service.ts'
import type { FetchContentOptions, FetchedContent } from './package-content.ts'

/**
 * What a marketplace node does for its user: publish, search, look up and fetch, each by the
 * running marketplace service (documented on {@link MarketplaceService}); `MarketplaceNode` adds
 * the lifecycle (start, status, peers, stop).
 */
export abstract class NodeOperations extends TypedEventEmitter<MarketplaceEvents> {
  /** The service once started; throws `NodeStoppedError` before and after. */
  protected abstract running(): MarketplaceService
  /** The node runs on a temporary key: it publishes only when told so. */
  abstract readonly temporaryKey: boolean

  /**
   * Publishes a package: validates the manifest (`InvalidManifestError` names each bad field), signs
   * it, checks namespace ownership and version order, stores it here and in the DHT, announces it.
   * Nothing is stored when any check fails. A node on a temporary key refuses
   * (`TemporaryKeyError`) unless `options.temporaryKey`.
   */
  async publish(manifest: PackageManifest, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.temporaryKey && options.temporaryKey !== true)
      throw new TemporaryKeyError(
        "this node runs on a temporary key (another tab holds this browser's identity): publish from that tab, import your key, or publish with this temporary key on purpose"
      )
    return await this.running().publish(manifest, options)
  }

  async search(query: SearchQuery, options: OperationOptions = {}): Promise<SearchResult> {
    return await this.running().search(query, options)
  }

  searchStream(query: SearchQuery, options: OperationOptions = {}): SearchStream {
    return this.running().searchStream(query, options)
  }

  async getPackage(
    id: string,
    version?: string,
    options: OperationOptions = {}
  ): Promise<PackageRecord | undefined> {
    return await this.running().getPackage(id, version, options)
  }

  async listVersions(id: string, options: OperationOptions = {}): Promise<string[]> {
    return await this.running().listVersions(id, options)
  }

  async fetchContent(
    id: string,
    version?: string,
    options: FetchContentOptions = {}
  ): Promise<FetchedContent> {
    return await this.running().fetchContent(id, version, options)
  }
}
