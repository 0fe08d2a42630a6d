import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify, identifyPush } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { lpStream } from '@libp2p/utils'
import { fromString, toString } from 'uint8arrays'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Libp2p, PrivateKey, ServiceMap } from '@libp2p/interface'
import type { ServiceFactoryMap } from 'libp2p'
import type { Ping } from '@libp2p/ping'

/**
 * A plain js-libp2p node as PROTOCOL.md §1 and §8 describe one (WebSockets, Noise, Yamux; identify
 * and ping), none of our node's code: the stranger of the hostile-peer tests, given the
 * services each needs on top. `circuits`: `dial` adds the circuit relay transport (it can dial
 * tabs through the relay), `reserve` also listens on `/p2p-circuit`, so it holds a reservation on
 * the relay it connects to and tabs can reach it (PROTOCOL.md §8).
 */
export async function createStranger<S extends ServiceMap>(
  services: ServiceFactoryMap<S>,
  privateKey?: PrivateKey,
  options: { circuits?: 'dial' | 'reserve' } = {}
): Promise<Libp2p<S & { identify: Identify; identifyPush: IdentifyPush; ping: Ping }>> {
  return await createLibp2p({
    privateKey: privateKey ?? (await generateKeyPair('Ed25519')),
    ...(options.circuits === 'reserve' ? { addresses: { listen: ['/p2p-circuit'] } } : {}),
    transports: options.circuits != null ? [webSockets(), circuitRelayTransport()] : [webSockets()],
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

/**
 * Serves the sync protocol (PROTOCOL.md §6) from `records`, in order, in pages of at most 100, under
 * one `epoch`: what a hostile peer gives a relay that syncs with it.
 */
export async function serveSync(
  node: Pick<Libp2p, 'handle'>,
  records: unknown[],
  epoch: string
): Promise<void> {
  await node.handle('/p2p-marketplace/sync/1.0.0', async stream => {
    const lp = lpStream(stream)
    const request = JSON.parse(toString((await lp.read()).subarray())) as { cursor: number; limit: number }
    const page = records.slice(request.cursor, request.cursor + Math.min(request.limit, 100))
    const next = request.cursor + page.length
    await lp.write(fromString(JSON.stringify({ records: page, next, done: next >= records.length, epoch })), {
      signal: AbortSignal.timeout(10_000)
    })
    await stream.close()
  })
}
