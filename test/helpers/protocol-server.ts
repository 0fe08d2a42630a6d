import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { trace } from '@opentelemetry/api'
import { fromString, toString } from 'uint8arrays'
import { ProtocolHandler } from '../../src/core/marketplace/protocol-handler.ts'
import { SEARCH_PROTOCOL } from '../../src/core/protocols/messages.ts'
import type { ProtocolHandlerComponents } from '../../src/core/marketplace/protocol-handler.ts'
import type { Connection, PeerId, StreamHandler } from '@libp2p/interface'

/** The peer requests come from unless a test says otherwise. */
export const ASKER = peerIdFromString('12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5')

/**
 * Our node's answering side of the search and sync protocols (PROTOCOL.md §6), the real
 * `ProtocolHandler` and framing over an in-memory stream pair: `ask` sends one request as a peer
 * would (a value is sent as its JSON, bytes as they are) and resolves with the answer's JSON.
 */
export async function protocolServer(catalog: ProtocolHandlerComponents['catalog']): Promise<{
  ask: (request: unknown, options?: { protocol?: string; from?: PeerId }) => Promise<unknown>
}> {
  const handlers = new Map<string, StreamHandler>()
  const libp2p = {
    handle: async (protocol: string | string[], handler: StreamHandler): Promise<void> => {
      for (const p of [protocol].flat()) handlers.set(p, handler)
      await Promise.resolve()
    },
    unhandle: async (): Promise<void> => {
      await Promise.resolve()
    }
  }
  await new ProtocolHandler({ libp2p, catalog, tracer: trace.getTracer('protocol-server') }).start()
  return {
    ask: async (request, options = {}) => {
      const handler = handlers.get(options.protocol ?? SEARCH_PROTOCOL)
      if (handler == null) throw new Error(`no handler for ${options.protocol}`)
      const [client, server] = await streamPair()
      const served = handler(server, { remotePeer: options.from ?? ASKER } as unknown as Connection)
      const lp = lpStream(client)
      await lp.write(request instanceof Uint8Array ? request : fromString(JSON.stringify(request)))
      const answer = JSON.parse(toString((await lp.read()).subarray())) as unknown
      await served
      return answer
    }
  }
}
