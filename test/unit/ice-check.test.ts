import { afterEach, describe, expect, test, vi } from 'vitest'
import {
  IceSelfCheck,
  checkIceServers,
  iceCheckFailed,
  judgeIceCheck
} from '../../src/core/network/ice-check.ts'
import { MarketplaceNode } from '../../src/core/marketplace/marketplace-node.ts'
import type {
  IceCheck,
  IceCheckPeerConnectionConstructor,
  IceServer
} from '../../src/core/network/ice-check.ts'

const RELAY_ID = '12D3KooWSAE3WngaHdn7fTp6KUdQviWxs5SAcLULEhyg8WbqzYtX'
const STUN = 'stun:turn.example.com:3478'
const TURN = 'turn:turn.example.com:3478?transport=udp'
const SERVERS: IceServer[] = [{ urls: STUN }, { urls: [TURN], username: 'u', credential: 'c' }]

/** What a fake peer connection's gathering produces, in order. */
type Step =
  | { candidate: { type?: string; candidate: string } }
  | { error: { url: string; errorCode: number; errorText: string } }
  | 'complete'

function candidate(type: string, withType = true): Step {
  const line = `candidate:1 1 udp 2122260223 192.0.2.1 54321 typ ${type} generation 0`
  return { candidate: withType ? { type, candidate: line } : { candidate: line } }
}

/** A stand-in for `RTCPeerConnection` that plays `steps` once the offer is set, and records what was done to it. */
function fakePeerConnection(steps: Step[]) {
  const made: FakePeerConnection[] = []
  class FakePeerConnection extends EventTarget {
    readonly configuration: unknown
    iceGatheringState = 'new'
    channels: string[] = []
    closed = false
    constructor(configuration: unknown) {
      super()
      this.configuration = configuration
      made.push(this)
    }

    createDataChannel(label: string): void {
      this.channels.push(label)
    }

    async createOffer(): Promise<{ type: RTCSdpType; sdp: string }> {
      return await Promise.resolve({ type: 'offer', sdp: 'v=0' })
    }

    async setLocalDescription(): Promise<void> {
      this.iceGatheringState = 'gathering'
      setTimeout(() => {
        for (const step of steps) {
          if (step === 'complete') {
            this.iceGatheringState = 'complete'
            this.dispatchEvent(new Event('icegatheringstatechange'))
          } else if ('candidate' in step) {
            this.dispatchEvent(Object.assign(new Event('icecandidate'), step))
          } else {
            this.dispatchEvent(Object.assign(new Event('icecandidateerror'), step.error))
          }
        }
      }, 1)
      await Promise.resolve()
    }

    close(): void {
      this.closed = true
    }
  }
  return { PeerConnection: FakePeerConnection as unknown as IceCheckPeerConnectionConstructor, made }
}

async function check(steps: Step[], servers = SERVERS, timeoutMs = 100): Promise<IceCheck | undefined> {
  const { PeerConnection } = fakePeerConnection(steps)
  return await checkIceServers(servers, { peerConnection: PeerConnection, timeoutMs })
}

describe('ICE self-check', () => {
  test('gathers with every server and a data channel, then closes the connection', async () => {
    const { PeerConnection, made } = fakePeerConnection([candidate('host'), 'complete'])
    await checkIceServers(SERVERS, { peerConnection: PeerConnection })
    expect(made).toHaveLength(1)
    expect(made[0]?.configuration).toEqual({ iceServers: SERVERS, iceTransportPolicy: 'all' })
    expect(made[0]?.channels).toEqual(['ice-check'])
    expect(made[0]?.closed).toBe(true)
  })

  test('a reflexive and a relay candidate: STUN and TURN work', async () => {
    // the relay candidate's type only in its SDP line, as browsers without `RTCIceCandidate.type` give it
    const result = await check([candidate('host'), candidate('srflx'), candidate('relay', false), 'complete'])
    expect(result).toEqual({
      state: 'done',
      stun: 'ok',
      turn: 'ok',
      candidateTypes: ['host', 'srflx', 'relay'],
      errors: [],
      summary: 'STUN and TURN work'
    })
    expect(iceCheckFailed(result as IceCheck)).toBe(false)
  })

  test('a TURN server that refuses the credentials: auth-failed, said in one line', async () => {
    const error = { url: TURN, errorCode: 401, errorText: 'Unauthorized' }
    const result = await check([candidate('host'), candidate('srflx'), { error }, { error }, 'complete'])
    expect(result).toMatchObject({
      state: 'done',
      stun: 'ok',
      turn: 'auth-failed',
      errors: [{ url: TURN, code: 401, text: 'Unauthorized' }] // reported twice (two interfaces), kept once
    })
    expect(result?.summary).toBe(
      `TURN authentication failed (401 Unauthorized) at ${TURN}: tabs behind strict NATs cannot connect directly`
    )
    expect(iceCheckFailed(result as IceCheck)).toBe(true)
  })

  test('a TURN server that does not answer, while gathering never completes: unreachable once the time is up', async () => {
    const error = { url: TURN, errorCode: 701, errorText: 'TURN allocate request timed out.' }
    const started = Date.now()
    const { PeerConnection, made } = fakePeerConnection([candidate('host'), candidate('srflx'), { error }])
    const result = await checkIceServers(SERVERS, { peerConnection: PeerConnection, timeoutMs: 200 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(made[0]?.closed).toBe(true)
    expect(result).toMatchObject({ state: 'done', stun: 'ok', turn: 'unreachable' })
    expect(result?.summary).toBe(
      `TURN server unreachable (701 TURN allocate request timed out.) at ${TURN}: tabs behind strict NATs cannot connect directly`
    )
  })

  test('no relay candidate and no error from the TURN server: unreachable', async () => {
    const result = await check([candidate('host'), candidate('srflx'), 'complete'])
    expect(result?.turn).toBe('unreachable')
    expect(result?.summary).toMatch(/^TURN server gave no relay address \(turn:/)
  })

  test.each([
    [438, 'Stale Nonce', 'auth-failed'],
    [403, 'Forbidden: wrong credentials', 'auth-failed'],
    [403, 'Forbidden IP', 'unreachable']
  ])('TURN error %i %s: %s', (errorCode, errorText, turn) => {
    expect(judgeIceCheck(SERVERS, ['host'], [{ url: TURN, code: errorCode, text: errorText }]).turn).toBe(
      turn
    )
  })

  test('a STUN server that gives no public address: stun failed', async () => {
    const result = await check([candidate('host'), 'complete'], [{ urls: STUN }])
    expect(result).toMatchObject({ stun: 'failed', turn: 'none' })
    expect(result?.summary).toBe(
      `STUN server gave no public address (${STUN}): tabs on different networks may not connect directly`
    )
  })

  test('STUN alone, working', async () => {
    const result = await check([candidate('host'), candidate('srflx'), 'complete'], [{ urls: STUN }])
    expect(result).toMatchObject({
      stun: 'ok',
      turn: 'none',
      summary: 'STUN works (no TURN server configured)'
    })
  })

  test('outside a browser (no RTCPeerConnection) there is nothing to check', async () => {
    expect(globalThis.RTCPeerConnection).toBeUndefined()
    expect(await checkIceServers(SERVERS)).toBeUndefined()
    const onChange = vi.fn()
    const self = new IceSelfCheck({ onChange, onError: () => {} })
    self.run(SERVERS)
    expect(self.result).toBeUndefined()
    expect(onChange).not.toHaveBeenCalled()
  })
})

describe("a node's own ICE check", () => {
  test('reports checking at once, then the result', async () => {
    const { PeerConnection } = fakePeerConnection([candidate('srflx'), candidate('relay'), 'complete'])
    const seen: Array<string | undefined> = []
    const self: IceSelfCheck = new IceSelfCheck({
      peerConnection: PeerConnection,
      onChange: () => seen.push(self.result?.summary),
      onError: () => {}
    })
    self.run(SERVERS)
    expect(self.result?.state).toBe('checking')
    await vi.waitFor(() => {
      expect(self.result?.state).toBe('done')
    })
    expect(seen).toEqual(['checking the STUN/TURN servers', 'STUN and TURN work'])
  })

  test('without ICE servers nothing runs', () => {
    const { PeerConnection, made } = fakePeerConnection([])
    const self = new IceSelfCheck({ peerConnection: PeerConnection, onChange: () => {}, onError: () => {} })
    self.run([])
    expect(self.result).toBeUndefined()
    expect(made).toHaveLength(0)
  })

  test('a run replaced by a newer one (a re-fetched config) or stopped reports nothing more', async () => {
    const { PeerConnection, made } = fakePeerConnection([candidate('relay')]) // never completes
    const onChange = vi.fn()
    const self = new IceSelfCheck({
      peerConnection: PeerConnection,
      onChange,
      onError: () => {},
      timeoutMs: 60_000
    })
    self.run(SERVERS)
    self.run(SERVERS)
    self.stop()
    await vi.waitFor(() => {
      expect(made.every(pc => pc.closed)).toBe(true)
    })
    expect(made).toHaveLength(2)
    expect(onChange).toHaveBeenCalledTimes(2) // each run's "checking"
    expect(self.result?.state).toBe('checking')
  })
})

describe('a marketplace node in a browser with ICE servers', () => {
  afterEach(async () => {
    vi.unstubAllGlobals()
    // node-datachannel (WebRTC in Node) keeps native threads alive until told to clean up
    ;(await import('node-datachannel')).cleanup()
  })

  test('goes on starting while it checks them, then shows the result in status() and a status event', async () => {
    const { PeerConnection } = fakePeerConnection([
      candidate('srflx'),
      { error: { url: TURN, errorCode: 401, errorText: 'Unauthorized' } },
      'complete'
    ])
    vi.stubGlobal('RTCPeerConnection', PeerConnection)
    // a relay that refuses connections: the node keeps dialing it, the check runs anyway
    const node = new MarketplaceNode({
      config: { relays: [`/ip4/127.0.0.1/tcp/1/ws/p2p/${RELAY_ID}`], iceServers: SERVERS }
    })
    const checks: Array<IceCheck | undefined> = []
    node.addEventListener('status', evt => checks.push(evt.detail.ice))
    try {
      await node.start()
      // start() did not wait for the check
      expect(node.status().ice?.state).toBe('checking')
      await vi.waitFor(() => {
        expect(node.status().ice?.state).toBe('done')
      })
      expect(node.status().ice).toMatchObject({ stun: 'ok', turn: 'auth-failed' })
      expect(checks.map(c => c?.state)).toContain('checking')
      expect(checks.at(-1)?.turn).toBe('auth-failed')
    } finally {
      await node.stop()
    }
  })
})
