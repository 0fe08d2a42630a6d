import { BOOTSTRAP_PHASE } from '../telemetry/schema.ts'
import { BootstrapSpan } from './bootstrap-span.ts'
import type { Phase } from './bootstrap-span.ts'
import { nodeStateFrom } from './node-state.ts'
import type { IceCheck } from '../network/ice-check.ts'
import type { RelayState } from '../network/relay-keeper.ts'
import type { NodeState, NodeStatus, NodeTimings, PeerSummary } from '../index.ts'
import type { Tracer } from '@opentelemetry/api'

/** What a node's status is read from. */
export interface StatusSources {
  relayStates: () => RelayState[]
  peers: () => PeerSummary[]
  ice: () => IceCheck | undefined
  /** Peers with an open connection, relays included (the bootstrap span's `connected_peers`). */
  connectedPeers: () => number
}

/**
 * A node's status: its state ({@link nodeStateFrom} once libp2p runs), the one line saying what
 * it is doing, the milestones of its start-up and the `bootstrap` span; `onChange` hears every
 * status that differs from the last one it heard.
 */
export class NodeStatusMachine {
  readonly timings: NodeTimings = { createdAt: performance.now() }
  private current: NodeState = 'starting'
  private progress = 'loading identity'
  private lastJson = ''
  private running = false
  private peerId = ''
  private relayCount = 0
  /** Start-up phases that ended before the first `bootstrap` span opened. */
  private phases: Phase[] | undefined = []
  private readonly bootstrap: BootstrapSpan
  private readonly sources: StatusSources
  private readonly onChange: (status: NodeStatus) => void

  constructor(tracer: Tracer, sources: StatusSources, onChange: (status: NodeStatus) => void) {
    this.bootstrap = new BootstrapSpan(tracer)
    this.sources = sources
    this.onChange = onChange
  }

  get state(): NodeState {
    return this.current
  }

  status(): NodeStatus {
    const relayStates = this.sources.relayStates()
    const peers = this.sources.peers().filter(p => !p.relay)
    const ice = this.sources.ice()
    return {
      state: this.current,
      relays: relayStates.filter(r => r.reserved).length,
      peers: peers.length,
      directPeers: peers.filter(p => p.direct).length,
      progress: this.progress,
      relayStates,
      ...(ice != null ? { ice } : {})
    }
  }

  /** A step of the start-up before libp2p runs. */
  setProgress(progress: string): void {
    this.progress = progress
    this.announce()
  }

  /** A start-up phase ended (`BOOTSTRAP_PHASE`): an event of the `bootstrap` span. */
  phase(name: string): void {
    if (this.phases != null) this.phases.push({ name, at: performance.now() })
    else this.bootstrap.phase(name)
  }

  /**
   * libp2p runs and the relays are being dialed: bootstrapping, under a `bootstrap` span. The
   * first one starts at the node's creation, with the phases so far as its events.
   */
  started(peerId: string, relayCount: number): void {
    this.peerId = peerId
    this.relayCount = relayCount
    this.running = true
    this.timings.startedAt = performance.now()
    this.current = 'bootstrapping'
    this.phases?.push({ name: BOOTSTRAP_PHASE.libp2p, at: this.timings.startedAt })
    this.bootstrap.begin(peerId, relayCount, { at: this.timings.createdAt, phases: this.phases ?? [] })
    this.phases = undefined
    this.setProgress('dialing relay')
  }

  /** A direct WebRTC connection opened: the first one's time is a milestone. */
  directOpened(): void {
    this.timings.firstDirectAt ??= performance.now()
  }

  /** Derives the state from the relays' ({@link nodeStateFrom}) and announces any change. */
  update(): void {
    if (!this.running) return
    const next = nodeStateFrom(this.sources.relayStates(), this.timings.onlineAt != null)
    if (next.connected && this.timings.relayConnectedAt == null) {
      this.timings.relayConnectedAt = performance.now()
      this.phase(BOOTSTRAP_PHASE.relayConnected)
    }
    if (next.reserved && this.timings.onlineAt == null) {
      this.timings.onlineAt = performance.now()
      this.phase(BOOTSTRAP_PHASE.reserved)
    }
    this.current = next.state
    this.progress = next.progress
    // the bootstrap span: open while a relay is connected and reserving, ended online or offline
    const peers = this.sources.connectedPeers()
    if (next.state === 'online') this.bootstrap.end(peers)
    else if (next.state === 'offline') this.bootstrap.end(peers, next.lastError ?? 'lost the relay')
    else if (next.connected) this.bootstrap.begin(this.peerId, this.relayCount)
    this.announce()
  }

  /** Offline for good: the start failed (`reason`) or the node stopped. */
  stopped(reason = 'stopped'): void {
    this.running = false
    this.bootstrap.end(this.sources.connectedPeers(), 'stopped before going online')
    this.current = 'offline'
    this.setProgress(reason)
  }

  /** Tells `onChange` when the status differs from the last one it heard. */
  announce(): void {
    const status = this.status()
    const json = JSON.stringify(status)
    if (json === this.lastJson) return
    this.lastJson = json
    this.onChange(status)
  }
}
