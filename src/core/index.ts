export { createMarketplaceNode, MarketplaceNode, transportOf } from './marketplace-node.ts'
export type {
  MarketplaceEvents,
  MarketplaceNodeInit,
  NodeState,
  NodeStatus,
  NodeTimings,
  PeerChange,
  PeerSummary
} from './marketplace-node.ts'
export { fetchRuntimeConfig, parseRuntimeConfig } from './config.ts'
export type { RuntimeConfig } from './config.ts'
export { InvalidConfigError, InvalidIdentityError, NodeStoppedError } from './errors.ts'
export { loadOrCreateIdentity } from './identity.ts'
export { DHT_PROTOCOL, DISCOVERY_TOPIC, PACKAGES_TOPIC, RUNTIME_CONFIG_PATH } from './constants.ts'
export { reputationScore, ReputationBook } from './reputation.ts'
export type { MarketplaceServices } from './libp2p-options.ts'
