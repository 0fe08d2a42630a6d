import { Backoff, withTimeout } from './backoff.ts'
import type { Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What {@link RelayKeeper} reports about one relay. */
export interface RelayState {
  addr: string
  peerId: string
  connected: boolean
  reserved: boolean
  attempts: number
  lastError?: string
  /** When the next dial is due (epoch ms), while disconnected. */
  retryAt?: number
}

export interface RelayKeeperComponents {
  libp2p: Pick<Libp2p, 'dial' | 'getConnections' | 'getMultiaddrs' | 'addEventListener' | 'removeEventListener'>
  log: Logger
}

export interface RelayKeeperInit {
  relays: Multiaddr[]
  /** Called whenever a relay's connection or reservation changes. */
  onChange: () => void
  /** Dial timeout per attempt, in ms. @default 10000 */
  dialTimeoutMs?: number
}

interface KeptRelay {
  addr: Multiaddr
  state: RelayState
  backoff: Backoff
  timer?: ReturnType<typeof setTimeout>
  dialing: boolean
}

/**
 * Keeps a connection to every configured relay: dials at start, re-dials with
 * backoff when a relay goes away (a restart, a network blip) and reports
 * whether our reservation is in place. libp2p keeps neither on its own: once
 * the relay connection closes nothing dials it again, and without a connection
 * the circuit transport cannot re-reserve.
 */
export class RelayKeeper {
  private readonly libp2p: RelayKeeperComponents['libp2p']
  private readonly log: Logger
  private readonly relays: KeptRelay[]
  private readonly onChange: () => void
  private readonly dialTimeoutMs: number
  private running = false

  constructor(components: RelayKeeperComponents, init: RelayKeeperInit) {
    this.libp2p = components.libp2p
    this.log = components.log
    this.onChange = init.onChange
    this.dialTimeoutMs = init.dialTimeoutMs ?? 10_000
    this.relays = init.relays.map(addr => {
      const peerId = addr.getComponents().findLast(c => c.name === 'p2p')?.value
      if (peerId == null) {
        throw new Error(`relay address ${addr.toString()} has no /p2p/<peer id>`)
      }
      return {
        addr,
        state: { addr: addr.toString(), peerId, connected: false, reserved: false, attempts: 0 },
        backoff: new Backoff({ initialMs: 250, maxMs: 5_000 }),
        dialing: false
      }
    })
  }

  /** Peer ids of the configured relays. */
  get relayPeerIds(): Set<string> {
    return new Set(this.relays.map(r => r.state.peerId))
  }

  start(): void {
    this.running = true
    this.libp2p.addEventListener('connection:close', this.onConnectionClose)
    this.libp2p.addEventListener('connection:open', this.onConnectionOpen)
    this.libp2p.addEventListener('self:peer:update', this.onSelfUpdate)
    for (const relay of this.relays) {
      this.schedule(relay, 0)
    }
  }

  stop(): void {
    this.running = false
    this.libp2p.removeEventListener('connection:close', this.onConnectionClose)
    this.libp2p.removeEventListener('connection:open', this.onConnectionOpen)
    this.libp2p.removeEventListener('self:peer:update', this.onSelfUpdate)
    for (const relay of this.relays) {
      clearTimeout(relay.timer)
    }
  }

  states(): RelayState[] {
    return this.relays.map(r => ({ ...r.state }))
  }

  /** Dials every disconnected relay now, skipping its backoff (the "retry" button). */
  retryNow(): void {
    for (const relay of this.relays) {
      if (!relay.state.connected) {
        this.schedule(relay, 0)
      }
    }
  }

  private schedule(relay: KeptRelay, delayMs: number): void {
    if (!this.running) {
      return
    }
    clearTimeout(relay.timer)
    relay.state.retryAt = Date.now() + delayMs
    relay.timer = setTimeout(() => {
      this.dial(relay).catch(err => {
        this.log.error('relay keeper failed for %s - %e', relay.state.addr, err)
      })
    }, delayMs)
  }

  private async dial(relay: KeptRelay): Promise<void> {
    if (!this.running || relay.dialing || this.isConnected(relay.state.peerId)) {
      return
    }
    relay.dialing = true
    relay.state.attempts++
    this.onChange()
    try {
      await withTimeout(this.dialTimeoutMs, async signal => await this.libp2p.dial(relay.addr, { signal }))
      relay.backoff.reset()
      delete relay.state.lastError
      delete relay.state.retryAt
    } catch (err) {
      const delay = relay.backoff.fail()
      relay.state.lastError = err instanceof Error ? err.message : String(err)
      this.log('dialing relay %s failed, retrying in %d ms - %s', relay.state.addr, delay, relay.state.lastError)
      this.schedule(relay, delay)
    } finally {
      relay.dialing = false
      this.refresh()
    }
  }

  private isConnected(peerId: string): boolean {
    return this.libp2p.getConnections().some(c => c.remotePeer.toString() === peerId && c.status === 'open')
  }

  private readonly onConnectionOpen = (): void => {
    this.refresh()
  }

  private readonly onConnectionClose = (evt: CustomEvent<{ remotePeer: PeerId }>): void => {
    const relay = this.relays.find(r => r.state.peerId === evt.detail.remotePeer.toString())
    this.refresh()
    if (relay != null && !relay.state.connected) {
      this.log('lost connection to relay %s, re-dialing', relay.state.addr)
      this.schedule(relay, relay.backoff.fail())
    }
  }

  private readonly onSelfUpdate = (): void => {
    this.refresh()
  }

  /** Recomputes connected/reserved from libp2p's own state and reports changes. */
  private refresh(): void {
    const addrs = this.libp2p.getMultiaddrs().map(ma => ma.toString())
    let changed = false
    for (const relay of this.relays) {
      const connected = this.isConnected(relay.state.peerId)
      const reserved = connected && addrs.some(a => a.includes(`/p2p/${relay.state.peerId}/p2p-circuit`))
      if (connected !== relay.state.connected || reserved !== relay.state.reserved) {
        relay.state.connected = connected
        relay.state.reserved = reserved
        changed = true
      }
    }
    if (changed) {
      this.onChange()
    }
  }
}
