export { createMarketplaceNode, MarketplaceNode } from './marketplace/marketplace-node.ts'
export { transportOf, isDirectWebRTC } from './network/connection-info.ts'
export type {
  MarketplaceEvents,
  MarketplaceNodeInit,
  NodeState,
  NodeStatus,
  NodeTimings,
  PeerChange,
  PeerSummary
} from './marketplace/node-types.ts'
export { fetchRuntimeConfig, parseRuntimeConfig } from './config.ts'
export type { RuntimeConfig } from './config.ts'
export type { IceCheck, IceCheckError } from './network/ice-check.ts'
export {
  InsecureRelayError,
  InvalidConfigError,
  InvalidIdentityError,
  NodeStoppedError,
  NotAPublisherError
} from './errors.ts'
export { loadOrCreateIdentity } from './identity.ts'
export { DHT_PROTOCOL, DISCOVERY_TOPIC, PACKAGES_TOPIC, RUNTIME_CONFIG_PATH } from './constants.ts'
export { reputationScore, ReputationBook } from './marketplace/reputation.ts'
export type { MarketplaceServices } from './network/libp2p-options.ts'
export { MarketplaceService, marketplaceService } from './marketplace/marketplace-service.ts'
export { SEARCH_PROTOCOL, SYNC_PROTOCOL, PROTOCOL_LIMITS } from './protocols/messages.ts'
export { InvalidQueryError, ProtocolError } from './protocols/errors.ts'
export type {
  PublishResult,
  SearchHit,
  SearchResult,
  MarketplaceServiceInit
} from './marketplace/marketplace-service.ts'
export { PackageCatalog } from './catalog/catalog.ts'
export type { PackageEvent, SearchQuery } from './catalog/catalog.ts'
export {
  InvalidManifestError,
  InvalidRecordError,
  NameUnprovenError,
  NamespaceOwnedError,
  VersionConflictError
} from './package/errors.ts'
export { keyNamespaceOf, namespaceKind } from './package/names.ts'
export type { NamespaceKind, NameStanding } from './package/names.ts'
export { NameProofs, DEFAULT_NAME_PROOF_URL } from './marketplace/name-proofs.ts'
export type { NameProofsInit, ProofFetch } from './marketplace/name-proofs.ts'
export { manifestSchema, parseManifest, LIMITS, MAX_CLOCK_SKEW_MS } from './package/schema.ts'
export type { PackageManifest, PackageRecord } from './package/schema.ts'
export { decodeRecord, encodeRecord, signRecord, verifyRecord } from './package/record.ts'
