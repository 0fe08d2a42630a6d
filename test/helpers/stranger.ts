import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify, identifyPush } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Libp2p, PrivateKey, ServiceMap } from '@libp2p/interface'
import type { ServiceFactoryMap } from 'libp2p'
import type { Ping } from '@libp2p/ping'

/**
 * A plain js-libp2p node as PROTOCOL.md §1 and §8 describe one (WebSockets, Noise, Yamux; identify
 * and ping), none of our node's code: the stranger of the hostile-peer tests, given the
 * services each needs on top.
 */
export async function createStranger<S extends ServiceMap>(
  services: ServiceFactoryMap<S>,
  privateKey?: PrivateKey
): Promise<Libp2p<S & { identify: Identify; identifyPush: IdentifyPush; ping: Ping }>> {
  return await createLibp2p({
    privateKey: privateKey ?? (await generateKeyPair('Ed25519')),
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping({ maxOutboundStreams: 4 }),
      ...services
    } as ServiceFactoryMap<S & { identify: Identify; identifyPush: IdentifyPush; ping: Ping }>
  })
}
