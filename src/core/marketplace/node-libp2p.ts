import { createLibp2p } from 'libp2p'
import { nodeLibp2pOptions } from '../network/libp2p-options.ts'
import { dhtRecordOptions } from './dht-records.ts'
import { GossipReplays } from './gossip-replays.ts'
import type { PackageCatalog } from '../catalog/catalog.ts'
import type { MarketplaceServices, NodeLibp2pInit } from '../network/libp2p-options.ts'
import type { Libp2p, PeerDiscovery } from '@libp2p/interface'

/**
 * A tab's libp2p node ({@link nodeLibp2pOptions}) with the marketplace wired in: the DHT takes
 * the catalog's record rules, and gossipsub scores peers by the replays `gossipReplays` counts.
 */
export async function createNodeLibp2p(
  init: Omit<NodeLibp2pInit, 'dhtRecords' | 'appSpecificScore'> & { catalog: PackageCatalog }
): Promise<{ libp2p: Libp2p<MarketplaceServices>; discovery?: PeerDiscovery; gossipReplays: GossipReplays }> {
  const { catalog, ...rest } = init
  const gossipReplays = new GossipReplays()
  const { options, discovery } = nodeLibp2pOptions({
    ...rest,
    dhtRecords: dhtRecordOptions({ catalog, datastore: init.datastore }),
    appSpecificScore: gossipReplays.appSpecificScore
  })
  const libp2p = await createLibp2p(options)
  return { libp2p, gossipReplays, ...(discovery() != null ? { discovery: discovery() } : {}) }
}
