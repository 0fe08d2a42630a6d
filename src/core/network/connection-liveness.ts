import { byteStream } from '@libp2p/utils'
import { withTimeout } from './backoff.ts'
import { describeError } from '../errors.ts'
import { PingMismatchError } from './errors.ts'
import { peerConnectionOf } from './ice-path.ts'
import type { PeerConnectionView } from './ice-path.ts'
import type { ComponentLogger, Connection, Libp2p, Logger, Startable } from '@libp2p/interface'

/** The ping protocol every libp2p node serves (`@libp2p/ping`). */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32

export interface ConnectionLivenessComponents {
  connectionManager: Pick<Libp2p, 'getConnections'>
  logger: ComponentLogger
}

export interface ConnectionLivenessInit {
  /** How often each open connection is pinged (ms). @default 5000 */
  intervalMs?: number
  /** How long one ping may take (ms). @default 10000 */
  timeoutMs?: number
  /** Consecutive failed pings after which a connection is closed. @default 3 */
  maxFailures?: number
  /**
   * A timer of our own that fires this much (ms) later than due means this
   * thread was paused (a starved or throttled tab, a long GC): pings that
   * failed across such a pause say nothing about the peer. @default 1000
   */
  stallThresholdMs?: number
}

interface PingState {
  inFlight: boolean
  failures: number
  /** When bytes from the peer last arrived on the connection's transport (epoch ms; 0: never seen). */
  lastDataAt: number
  /** The `RTCPeerConnection` of a WebRTC connection, whose ICE agent watches the path on its own. */
  pc?: PeerConnectionView
}

/** ICE states in which the agent has stopped hearing the peer's consent checks. */
const ICE_LOST = new Set<string>(['disconnected', 'failed'])

/**
 * Closes connections whose peer stopped answering, like libp2p's connection
 * monitor (which the marketplace turns off), without its false alarms on a
 * busy machine. libp2p's monitor aborts a connection on the first ping over
 * its timeout and starts a new ping every interval even while the last one
 * is still running. Measured here with eight tabs and two CPU hogs on two
 * cores, that closed healthy connections dozens of times a minute: a tab
 * whose own thread was paused for a few seconds saw every ping time out at
 * once when it resumed (the answers were waiting, unread) and dropped its
 * relay connection with its reservation, and pings that piled up on a slow
 * peer went over its ping service's stream limit and were reset. Each drop of
 * a relay connection broke every dial through it.
 *
 * Here a connection has at most one ping in flight; it is closed after
 * `maxFailures` consecutive failures; a ping that failed while this thread
 * was stalled does not count; and neither does one that failed while bytes
 * from the peer kept arriving on the connection. The last rule keeps a tab's
 * relay connection: every circuit of the tab runs over it, and with eight tabs
 * forming their mesh beside two CPU hogs the relay answered pings slower than
 * 10 s, three times in a row, while it forwarded data all along. Every tab
 * closed its relay connection within 13 s, losing its reservation and every
 * circuit with it (docs/direct-mesh.md, section 6).
 *
 * A WebRTC connection has a second witness: its ICE agent, which runs off the
 * page's thread and checks the path every few seconds. When it reports the peer
 * `disconnected`, the connection is pinged at once, and a ping that fails while
 * ICE still says so closes it without waiting for two more. libp2p closes a
 * WebRTC connection only once ICE says `failed`; a tab whose browser context
 * vanished (no SCTP goodbye) was still listed 30 s later beside a busy suite,
 * where three ping timeouts take 35-45 s.
 */
export class ConnectionLiveness implements Startable {
  private readonly connections: ConnectionLivenessComponents['connectionManager']
  private readonly log: Logger
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private readonly maxFailures: number
  private readonly stallThresholdMs: number
  private readonly states = new WeakMap<Connection, PingState>()
  private pingTimer?: ReturnType<typeof setInterval>
  private stallTimer?: ReturnType<typeof setInterval>
  /** When the last pause of this thread was noticed (epoch ms). */
  private lastStallAt = 0
  private controller = new AbortController()

  constructor(components: ConnectionLivenessComponents, init: ConnectionLivenessInit = {}) {
    this.connections = components.connectionManager
    this.log = components.logger.forComponent('marketplace:connection-liveness')
    this.intervalMs = init.intervalMs ?? 5_000
    this.timeoutMs = init.timeoutMs ?? 10_000
    this.maxFailures = init.maxFailures ?? 3
    this.stallThresholdMs = init.stallThresholdMs ?? 1_000
  }

  start(): void {
    this.controller = new AbortController()
    this.pingTimer = setInterval(() => this.pingAll(), this.intervalMs)
    // a fast, cheap timer whose lateness shows when this thread was paused
    const probeMs = 500
    let expected = Date.now() + probeMs
    this.stallTimer = setInterval(() => {
      const now = Date.now()
      if (now - expected > this.stallThresholdMs) {
        this.lastStallAt = now
        this.log('this thread was paused for %d ms', now - expected + probeMs)
      }
      expected = now + probeMs
    }, probeMs)
  }

  stop(): void {
    clearInterval(this.pingTimer)
    clearInterval(this.stallTimer)
    this.controller.abort()
  }

  /** Consecutive failed pings of a connection so far (0 when it answers). */
  failures(conn: Connection): number {
    return this.states.get(conn)?.failures ?? 0
  }

  private pingAll(): void {
    for (const conn of this.connections.getConnections()) {
      // a relayed connection lives and dies with the relay's, which is pinged itself; pinging
      // through the relay only loads two busy tabs and the relay, and closed circuits that
      // were in the middle of signalling a WebRTC upgrade
      if (conn.status !== 'open' || conn.limits != null) continue
      this.pingOne(conn, this.stateOf(conn))
    }
  }

  private stateOf(conn: Connection): PingState {
    let state = this.states.get(conn)
    if (state == null) {
      const s: PingState = { inFlight: false, failures: 0, lastDataAt: 0, pc: peerConnectionOf(conn) }
      this.states.set(conn, s)
      watchData(conn, s)
      s.pc?.addEventListener('connectionstatechange', () => {
        const ice = s.pc?.connectionState ?? ''
        this.log('ICE of the connection to %p is %s', conn.remotePeer, ice)
        // the ICE agent stopped hearing the peer: ask it now rather than at the next round
        if (ice === 'disconnected' && conn.status === 'open' && !this.controller.signal.aborted)
          this.pingOne(conn, s)
      })
      state = s
    }
    return state
  }

  private pingOne(conn: Connection, s: PingState): void {
    if (s.inFlight) return
    s.inFlight = true
    const started = Date.now()
    this.ping(conn)
      .then(rtt => {
        s.failures = 0
        conn.rtt = rtt
      })
      .catch((err: unknown) => {
        // stopped, or the connection closed meanwhile: its ping says nothing about the peer any more
        if (this.controller.signal.aborted || conn.status !== 'open') return
        // it answered, just not to ping: alive
        if (err instanceof Error && err.name === 'UnsupportedProtocolError') {
          s.failures = 0
          return
        }
        // the ICE agent, off this thread, lost the peer too: two witnesses agree
        const ice = s.pc?.connectionState
        if (ice != null && ICE_LOST.has(ice)) {
          this.log(
            'closing connection to %p: a ping failed while ICE is %s - %s',
            conn.remotePeer,
            ice,
            describeError(err)
          )
          conn.abort(err instanceof Error ? err : new Error(describeError(err)))
          return
        }
        // the peer sent data while the ping was under way: alive, just slow to answer pings
        if (s.lastDataAt >= started) {
          this.log(
            'ping of %p failed while the connection carried data; not counted - %s',
            conn.remotePeer,
            describeError(err)
          )
          return
        }
        // a pause of our own thread during the ping: its timeout fired before the answer was read
        if (this.lastStallAt >= started) {
          this.log(
            'ping of %p failed while this thread was paused; not counted - %s',
            conn.remotePeer,
            describeError(err)
          )
          return
        }
        s.failures++
        this.log(
          'ping %d/%d of %p failed - %s',
          s.failures,
          this.maxFailures,
          conn.remotePeer,
          describeError(err)
        )
        if (s.failures >= this.maxFailures) {
          this.log('closing connection to %p: %d pings in a row failed', conn.remotePeer, s.failures)
          conn.abort(err instanceof Error ? err : new Error(describeError(err)))
        }
      })
      .finally(() => {
        s.inFlight = false
      })
  }

  /** One ping over a new stream; resolves with the round trip in ms. */
  private async ping(conn: Connection): Promise<number> {
    return await withTimeout(
      this.timeoutMs,
      async signal => {
        const stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
        try {
          const bytes = byteStream(stream)
          const data = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
          const start = Date.now()
          const [, echo] = await Promise.all([
            bytes.write(data, { signal }),
            bytes.read({ bytes: PING_LENGTH, signal })
          ])
          const rtt = Date.now() - start
          if (!echo.subarray().every((b, i) => b === data[i])) throw new PingMismatchError()
          await stream.close({ signal })
          return rtt
        } catch (err) {
          stream.abort(err instanceof Error ? err : new Error(String(err)))
          throw err
        }
      },
      this.controller.signal
    )
  }
}

/**
 * Notes in `state` when bytes from the peer arrive on the connection's transport. libp2p's
 * `Connection` does not publish its transport, but keeps it as `maConn`, a message stream whose
 * `message` events carry every byte received (the connection's encrypter and muxer listen to the
 * same events, so one more listener changes nothing for them). WebRTC connections carry their
 * data on data channels, not through `maConn`: for them, and should a libp2p version move
 * `maConn`, pings alone decide.
 */
function watchData(conn: Connection, state: PingState): void {
  const maConn = (conn as unknown as { maConn?: Partial<Pick<EventTarget, 'addEventListener'>> }).maConn
  maConn?.addEventListener?.('message', () => {
    state.lastDataAt = Date.now()
  })
}

/**
 * The liveness check as a libp2p service; run it with `connectionMonitor: { enabled: false }`.
 */
export function connectionLiveness(
  init: ConnectionLivenessInit = {}
): (components: ConnectionLivenessComponents) => ConnectionLiveness {
  return components => new ConnectionLiveness(components, init)
}
