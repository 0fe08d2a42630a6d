import { ContentNotFoundError } from '../content/errors.ts'
import { CatalogSync } from './catalog-sync.ts'
import { PackageGossip } from './gossip.ts'
import { GossipReplays } from './gossip-replays.ts'
import { PackageContent } from './package-content.ts'
import { PackageDht } from './package-dht.ts'
import { PeerFeedback } from './peer-feedback.ts'
import { ProtocolHandler } from './protocol-handler.ts'
import { SearchFanOut } from './search-fanout.ts'
import type { MarketplaceServiceComponents, MarketplaceServiceInit } from '../index.ts'
import type { Tracer } from '@opentelemetry/api'

/** The parts a marketplace service runs on, sharing one peer-feedback channel. */
export interface ServiceParts {
  dht: PackageDht
  fanOut: SearchFanOut
  gossip: PackageGossip
  sync: CatalogSync
  handler: ProtocolHandler
  contents: PackageContent
}

/** Assembles the service's parts with `init`'s settings and their defaults. */
export function serviceParts(
  components: MarketplaceServiceComponents & { tracer: Tracer },
  init: MarketplaceServiceInit
): ServiceParts {
  const { libp2p, catalog, reputation, datastore, log, tracer } = components
  const peerTimeoutMs = init.peerTimeoutMs ?? 2_000
  const feedback = new PeerFeedback({ reputation, tracer })
  const store = components.content
  return {
    dht: new PackageDht(
      { libp2p, catalog, feedback, log, tracer },
      { timeoutMs: init.dhtTimeoutMs ?? 5_000 }
    ),
    fanOut: new SearchFanOut(
      { libp2p, catalog, reputation, feedback, tracer },
      {
        fanOut: init.fanOut ?? 3,
        enoughAnswers: init.enoughAnswers ?? 2,
        peerTimeoutMs,
        graceMs: init.graceMs ?? 150
      }
    ),
    gossip: new PackageGossip({
      pubsub: libp2p.services.pubsub,
      catalog,
      feedback,
      replays: components.gossipReplays ?? new GossipReplays(),
      log,
      tracer
    }),
    sync: new CatalogSync(
      { libp2p, catalog, datastore, feedback, log },
      {
        pageTimeoutMs: peerTimeoutMs * 3,
        resyncAfterMs: init.resyncAfterMs ?? 30_000,
        ...(init.syncScope != null ? { scope: init.syncScope } : {})
      }
    ),
    handler: new ProtocolHandler({ libp2p, catalog, tracer }),
    contents: new PackageContent({
      tracer,
      store: async () => {
        if (store == null) throw new ContentNotFoundError('this node keeps no package content')
        return await store()
      }
    })
  }
}
