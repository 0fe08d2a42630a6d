/**
 * Which peers a search asks: the reputable ones that identify said speak the search protocol,
 * and, when fewer than the fan-out do, the other connected peers (identify can time out through
 * a busy relay, and libp2p does not run it again on that connection).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { trace } from '@opentelemetry/api'
import { expect, test, vi } from 'vitest'
import { SearchFanOut } from '../../src/core/marketplace/search-fanout.ts'
import { SEARCH_PROTOCOL } from '../../src/core/protocols/messages.ts'
import type { SearchFanOutComponents } from '../../src/core/marketplace/search-fanout.ts'
import type { PeerId } from '@libp2p/interface'

const PING = '/ipfs/ping/1.0.0'

async function peer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A fan-out over connected peers with the given known protocols (undefined: not in the peer store) and scores. */
function fanOutOver(
  peers: Array<{ id: PeerId; protocols?: string[]; score: number }>,
  dialProtocol: SearchFanOutComponents['libp2p']['dialProtocol'] = async () =>
    await Promise.reject(new Error('unused'))
) {
  const feedback = { success: vi.fn(), failure: vi.fn<(peerId: string, err: unknown) => void>() }
  const byId = new Map(peers.map(p => [p.id.toString(), p]))
  const libp2p = {
    getConnections: () => peers.map(p => ({ status: 'open', remotePeer: p.id })),
    peerStore: {
      get: async (id: PeerId) => {
        const known = byId.get(id.toString())?.protocols
        if (known == null) throw Object.assign(new Error('not found'), { name: 'NotFoundError' })
        return await Promise.resolve({ id, protocols: known })
      }
    },
    dialProtocol
  } as unknown as SearchFanOutComponents['libp2p']
  const fanOut = new SearchFanOut(
    {
      libp2p,
      catalog: { add: vi.fn(), get: () => undefined },
      reputation: { score: (id: string) => byId.get(id)?.score ?? 0.5 },
      feedback,
      tracer: trace.getTracer('test')
    },
    { fanOut: 3, enoughAnswers: 2, peerTimeoutMs: 1_000, graceMs: 50 }
  )
  return { fanOut, feedback }
}

test('peers known to speak the protocol, most reputable first; the others are not asked while three do', async () => {
  const [a, b, c, d, other] = await Promise.all(Array.from({ length: 5 }, peer))
  const { fanOut } = fanOutOver([
    { id: a!, protocols: [SEARCH_PROTOCOL], score: 0.6 },
    { id: b!, protocols: [SEARCH_PROTOCOL, PING], score: 0.9 },
    { id: c!, protocols: [SEARCH_PROTOCOL], score: 0.7 },
    { id: d!, protocols: [SEARCH_PROTOCOL], score: 0.55 },
    { id: other!, protocols: [PING], score: 1 }
  ])
  const chosen = await fanOut.choosePeers()
  expect(chosen.peers).toEqual([b, c, a])
  expect(chosen.available).toBe(5)
})

test('fewer than three known speakers: connected peers identify did not describe fill the places left', async () => {
  const [relay, unidentified, pingOnly, absent] = await Promise.all(Array.from({ length: 4 }, peer))
  const { fanOut } = fanOutOver([
    { id: relay!, protocols: [SEARCH_PROTOCOL], score: 0.8 },
    // identify timed out: the peer store knows only the protocols of streams opened since
    { id: pingOnly!, protocols: [PING], score: 0.6 },
    { id: unidentified!, protocols: [], score: 0.7 },
    { id: absent!, score: 0.5 }
  ])
  const chosen = await fanOut.choosePeers()
  expect(chosen.peers).toEqual([relay, unidentified, pingOnly])
})

test('a peer asked on the off chance that does not speak the protocol loses no reputation; a timeout does', async () => {
  const [speaks, foreign] = await Promise.all(Array.from({ length: 2 }, peer))
  const { fanOut, feedback } = fanOutOver(
    [
      { id: speaks!, protocols: [SEARCH_PROTOCOL], score: 0.8 },
      { id: foreign!, protocols: [PING], score: 0.6 }
    ],
    async (id, _protocol, options) => {
      if (foreign!.equals(id)) {
        throw Object.assign(new Error('could not negotiate'), { name: 'UnsupportedProtocolError' })
      }
      // the speaking peer never answers: its own timeout ends it
      return await new Promise<never>((_resolve, reject) => {
        options?.signal?.addEventListener('abort', () => reject(options.signal?.reason as Error))
      })
    }
  )
  const { peers } = await fanOut.choosePeers()
  expect(peers).toEqual([speaks, foreign])
  await fanOut.query({ type: 'search', query: { text: 'anything' } }, peers)
  expect(feedback.failure.mock.calls.map(c => c[0])).toEqual([speaks!.toString()])
})
