import { Backoff, withTimeout } from './backoff.ts'
import { describeError } from '../errors.ts'
import { RESERVATION_TIMEOUT_MS } from '../constants.ts'
import { InvalidRelayAddressError } from './errors.ts'
import type { Connection, Libp2p, Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peerIdInAddr } from './relay-addrs.ts'

/** What {@link RelayKeeper} reports about one relay. */
export interface RelayState {
  addr: string
  peerId: string
  connected: boolean
  reserved: boolean
  /** Dials since the last time the relay was connected. */
  attempts: number
  lastError?: string
  /** When the next dial is due (epoch ms), while disconnected. */
  retryAt?: number
}

export interface RelayKeeperComponents {
  libp2p: Pick<
    Libp2p,
    'dial' | 'hangUp' | 'getConnections' | 'getMultiaddrs' | 'addEventListener' | 'removeEventListener'
  >
  log: Logger
}

export interface RelayKeeperInit {
  relays: Multiaddr[]
  /** Called whenever a relay's connection or reservation changes. */
  onChange: () => void
  /** Dial timeout per attempt, in ms. @default 10000 */
  dialTimeoutMs?: number
  /** How often (ms) the keeper checks its relays besides reacting to events. @default 500 */
  checkIntervalMs?: number
  /**
   * How long (ms) a relay may stay connected without our reservation before the
   * keeper hangs up and dials it again. @default 45000
   */
  reservationStallMs?: number
}

interface KeptRelay {
  addr: Multiaddr
  state: RelayState
  backoff: Backoff
  nextAt: number
  dialing: boolean
  /** Since when (epoch ms) the relay has been connected without our reservation. */
  unreservedSince?: number
  /** The keeper is closing the relay's connection to dial it again. */
  hangingUp: boolean
}

/**
 * What the keeper reacts to at once. A reservation shows as `transport:listening` (the circuit
 * listener's new address); `self:peer:update` follows it up to a second later (libp2p debounces
 * it), which is why the periodic check used to be what noticed a reservation.
 */
const EVENTS = [
  'connection:open',
  'connection:close',
  'transport:listening',
  'transport:close',
  'self:peer:update'
] as const

/**
 * Keeps a connection to every configured relay: dials at start, re-dials with
 * backoff when a relay goes away (a restart, a network blip) and reports
 * whether our reservation is in place. libp2p keeps neither on its own: once
 * the relay connection closes nothing dials it again, and without a connection
 * the circuit transport cannot re-reserve.
 *
 * It works as a small control loop (events only make it look sooner) because
 * the events alone race: a relay that closes two connections at once, or a
 * dial that joins one libp2p already has in flight, can leave nothing scheduled.
 *
 * A connection without a reservation is not enough either. The circuit transport
 * tries to reserve once per connection, when identify shows the relay speaks the
 * hop protocol; if that attempt fails (the relay is full, or a starved machine
 * lets it time out) nothing tries again while the connection lives. So a relay
 * connected for `reservationStallMs` without our reservation is hung up and
 * dialled again, which gives the transport a fresh attempt.
 */
export class RelayKeeper {
  private readonly libp2p: RelayKeeperComponents['libp2p']
  private readonly log: Logger
  private readonly relays: KeptRelay[]
  private readonly onChange: () => void
  private readonly dialTimeoutMs: number
  private readonly checkIntervalMs: number
  private readonly reservationStallMs: number
  private timer?: ReturnType<typeof setInterval>
  private running = false

  constructor(components: RelayKeeperComponents, init: RelayKeeperInit) {
    this.libp2p = components.libp2p
    this.log = components.log
    this.onChange = init.onChange
    this.dialTimeoutMs = init.dialTimeoutMs ?? 10_000
    this.checkIntervalMs = init.checkIntervalMs ?? 500
    // the circuit transport's attempt is over by then: identify (5 s at most) then
    // the reservation itself (`RESERVATION_TIMEOUT_MS`), with room to spare
    this.reservationStallMs = init.reservationStallMs ?? RESERVATION_TIMEOUT_MS + 15_000
    this.relays = init.relays.map(addr => {
      const peerId = peerIdInAddr(addr)
      if (peerId == null) {
        throw new InvalidRelayAddressError(addr.toString())
      }
      return {
        addr,
        state: { addr: addr.toString(), peerId, connected: false, reserved: false, attempts: 0 },
        // capped at 3 s: a tab is back at most ~3 s after its relay restarts (the
        // fault suite's 10 s goal, with room for a busy machine); a dial to a relay
        // that is down costs a refused connection, and the jitter spreads the tabs
        backoff: new Backoff({ initialMs: 250, maxMs: 3_000 }),
        nextAt: 0,
        dialing: false,
        hangingUp: false
      }
    })
  }

  /** Peer ids of the configured relays. */
  get relayPeerIds(): Set<string> {
    return new Set(this.relays.map(r => r.state.peerId))
  }

  start(): void {
    this.running = true
    for (const event of EVENTS) this.libp2p.addEventListener(event, this.check)
    this.timer = setInterval(this.check, this.checkIntervalMs)
    this.check()
  }

  stop(): void {
    this.running = false
    clearInterval(this.timer)
    for (const event of EVENTS) this.libp2p.removeEventListener(event, this.check)
  }

  states(): RelayState[] {
    return this.relays.map(r => ({ ...r.state }))
  }

  /** Dials every disconnected relay now, skipping its backoff (the "retry" button). */
  retryNow(): void {
    for (const relay of this.relays) relay.nextAt = 0
    this.check()
  }

  /** Recomputes each relay's state from libp2p's, reports changes, and dials what is due. */
  private readonly check = (): void => {
    if (!this.running) return
    const addrs = this.libp2p.getMultiaddrs().map(ma => ma.toString())
    const now = Date.now()
    let changed = false
    for (const relay of this.relays) {
      const connection = this.libp2p
        .getConnections()
        .find(c => c.remotePeer.toString() === relay.state.peerId && c.status === 'open')
      const connected = connection != null && !relay.hangingUp
      const reserved = connected && addrs.some(a => a.includes(`/p2p/${relay.state.peerId}/p2p-circuit`))
      if (connected !== relay.state.connected || reserved !== relay.state.reserved) {
        if (relay.state.connected && !connected) {
          this.log('lost connection to relay %s', relay.state.addr)
          relay.nextAt = now
        }
        relay.state.connected = connected
        relay.state.reserved = reserved
        changed = true
      }
      if (connected) {
        if (relay.state.attempts !== 0 || relay.state.retryAt != null) changed = true
        relay.state.attempts = 0
        delete relay.state.retryAt
        if (reserved) {
          delete relay.unreservedSince
          if (relay.state.lastError != null) changed = true
          delete relay.state.lastError
          relay.backoff.reset()
        } else {
          relay.unreservedSince ??= now
          if (now - relay.unreservedSince >= this.reservationStallMs) {
            this.reconnect(relay, connection, now)
            changed = true
          }
        }
      } else {
        delete relay.unreservedSince
        if (!relay.dialing && !relay.hangingUp && now >= relay.nextAt) {
          this.dial(relay)
          changed = true
        }
      }
    }
    if (changed) this.onChange()
  }

  /** Hangs up a relay that stays connected without our reservation; the loop dials it again. */
  private reconnect(relay: KeptRelay, connection: Connection, now: number): void {
    const stalledMs = now - (relay.unreservedSince ?? now)
    delete relay.unreservedSince
    const delay = relay.backoff.fail()
    relay.nextAt = now + delay
    relay.state.retryAt = relay.nextAt
    relay.state.connected = false
    relay.hangingUp = true
    relay.state.lastError = `connected for ${Math.round(stalledMs / 1000)} s without a reservation`
    this.log(
      'relay %s: connected for %d ms without a reservation, hanging up and dialling again in %d ms',
      relay.state.addr,
      stalledMs,
      delay
    )
    this.libp2p
      .hangUp(connection.remotePeer)
      .catch((err: unknown) => {
        this.log('hanging up relay %s failed - %s', relay.state.addr, describeError(err))
      })
      .finally(() => {
        relay.hangingUp = false
        this.check()
      })
  }

  private dial(relay: KeptRelay): void {
    relay.dialing = true
    relay.state.attempts++
    delete relay.state.retryAt
    withTimeout(this.dialTimeoutMs, async signal => await this.libp2p.dial(relay.addr, { signal }))
      .then(() => {
        this.log('connected to relay %s', relay.state.addr)
      })
      .catch((err: unknown) => {
        const delay = relay.backoff.fail()
        relay.nextAt = Date.now() + delay
        relay.state.retryAt = relay.nextAt
        relay.state.lastError = describeError(err)
        this.log(
          'dialing relay %s failed, retrying in %d ms - %s',
          relay.state.addr,
          delay,
          relay.state.lastError
        )
      })
      .finally(() => {
        relay.dialing = false
        this.check()
      })
  }
}
