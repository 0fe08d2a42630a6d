import { describeError } from '../errors.ts'
import type { Identify } from '@libp2p/identify'
import { serviceDependencies } from '@libp2p/interface'
import type {
  ComponentLogger,
  Connection,
  Libp2pEvents,
  Logger,
  Startable,
  TypedEventTarget
} from '@libp2p/interface'

export interface IdentifyRetryComponents {
  events: TypedEventTarget<Libp2pEvents>
  /** libp2p's identify service (a service is a component under its name). */
  identify: Pick<Identify, 'identify'>
  logger: ComponentLogger
}

export interface IdentifyRetryInit {
  /** How long (ms) after a connection opened, without identify, it is identified again. @default 8000 */
  afterMs?: number
  /** Timeout (ms) of each further identify; libp2p's own is 5 s. @default 15000 */
  timeoutMs?: number
  /** Further identifies per connection. @default 2 */
  attempts?: number
}

interface Pending {
  conn: Connection
  attempts: number
  timer?: ReturnType<typeof setTimeout>
}

/**
 * Identifies a connection again when libp2p's identify did not. js-libp2p runs identify once per
 * connection, with a 5 s timeout, and never again: when that one exchange times out (through a
 * relay answering slower than that on a busy machine, or to a tab whose thread was paused), the
 * peer store does not learn the peer's protocols for as long as the connection stays open, and
 * search and catalog sync, which choose peers by them, pass it by.
 *
 * Each connection without a `peer:identify` event `afterMs` after it opened is identified again,
 * with a longer timeout, up to `attempts` times. What is kept is one entry per open connection.
 */
export class IdentifyRetry implements Startable {
  private readonly components: IdentifyRetryComponents
  private readonly log: Logger
  private readonly afterMs: number
  private readonly timeoutMs: number
  private readonly attempts: number
  private readonly pending = new Map<string, Pending>()

  constructor(components: IdentifyRetryComponents, init: IdentifyRetryInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('marketplace:identify-retry')
    this.afterMs = init.afterMs ?? 8_000
    this.timeoutMs = init.timeoutMs ?? 15_000
    this.attempts = init.attempts ?? 2
  }

  readonly [Symbol.toStringTag] = 'marketplace:identify-retry'
  readonly [serviceDependencies] = ['@libp2p/identify']

  start(): void {
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
  }

  stop(): void {
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    for (const p of this.pending.values()) clearTimeout(p.timer)
    this.pending.clear()
  }

  /** Connections waiting for an identify (for tests and diagnostics). */
  get waiting(): number {
    return this.pending.size
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const entry: Pending = { conn: evt.detail, attempts: 0 }
    this.pending.set(evt.detail.id, entry)
    this.schedule(entry)
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    this.forget(evt.detail.id)
  }

  private readonly onIdentify = (evt: CustomEvent<{ connection: Connection }>): void => {
    this.forget(evt.detail.connection.id)
  }

  private forget(id: string): void {
    clearTimeout(this.pending.get(id)?.timer)
    this.pending.delete(id)
  }

  private schedule(entry: Pending): void {
    entry.timer = setTimeout(() => {
      void this.retry(entry)
    }, this.afterMs)
  }

  private async retry(entry: Pending): Promise<void> {
    const { conn } = entry
    if (this.pending.get(conn.id) !== entry) return
    if (conn.status !== 'open') {
      this.forget(conn.id)
      return
    }
    entry.attempts++
    this.log(
      'no identify from %p on %s yet: identifying again (%d of %d)',
      conn.remotePeer,
      conn.id,
      entry.attempts,
      this.attempts
    )
    try {
      // a success dispatches `peer:identify`, which forgets the connection
      await this.components.identify.identify(conn, { signal: AbortSignal.timeout(this.timeoutMs) })
      this.forget(conn.id)
    } catch (err) {
      this.log.error('identify %p on %s failed again - %s', conn.remotePeer, conn.id, describeError(err))
      if (this.pending.get(conn.id) !== entry) return
      if (entry.attempts < this.attempts) this.schedule(entry)
      else this.forget(conn.id)
    }
  }
}

/** The retry as a libp2p service; it needs the `identify` service beside it. */
export function identifyRetry(
  init: IdentifyRetryInit = {}
): (components: IdentifyRetryComponents) => IdentifyRetry {
  return components => new IdentifyRetry(components, init)
}
