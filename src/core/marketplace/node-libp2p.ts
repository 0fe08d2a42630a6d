import { createLibp2p } from 'libp2p'
import { nodeLibp2pOptions } from '../network/libp2p-options.ts'
import { createMesh } from '../network/mesh.ts'
import { dhtRecordOptions } from './dht-records.ts'
import { GossipReplays } from './gossip-replays.ts'
import type { PackageCatalog } from '../catalog/catalog.ts'
import type { DirectConnector } from '../network/direct-connector.ts'
import type { MarketplaceServices, NodeLibp2pInit } from '../network/libp2p-options.ts'
import type { MeshInit } from '../network/mesh.ts'
import type { RelayKeeper } from '../network/relay-keeper.ts'
import type { Libp2p } from '@libp2p/interface'

/** A tab's network: its libp2p node and its place in the mesh, not yet started. */
export interface NodeNetwork {
  libp2p: Libp2p<MarketplaceServices>
  /** Counts replays on the packages topic; gossipsub scores peers by it. */
  gossipReplays: GossipReplays
  keeper: RelayKeeper
  connector: DirectConnector
}

/**
 * A tab's libp2p node ({@link nodeLibp2pOptions}) with the marketplace wired in (the DHT takes
 * the catalog's record rules, gossipsub scores peers by their replays) and its mesh
 * ({@link createMesh}: the relay keeper and the direct connector, fed by discovery).
 */
export async function createNodeNetwork(
  init: Omit<NodeLibp2pInit, 'dhtRecords' | 'appSpecificScore'> & {
    catalog: PackageCatalog
    mesh: Omit<MeshInit, 'config' | 'relays' | 'discovery'>
  }
): Promise<NodeNetwork> {
  const { catalog, mesh, ...rest } = init
  const gossipReplays = new GossipReplays()
  const { options, discovery } = nodeLibp2pOptions({
    ...rest,
    dhtRecords: dhtRecordOptions({ catalog, datastore: init.datastore }),
    appSpecificScore: gossipReplays.appSpecificScore
  })
  const libp2p = await createLibp2p(options)
  const found = discovery()
  const { keeper, connector } = createMesh(
    { libp2p, log: libp2p.logger.forComponent('marketplace:node') },
    { ...mesh, config: init.config, relays: init.relays, ...(found != null ? { discovery: found } : {}) }
  )
  return { libp2p, gossipReplays, keeper, connector }
}
