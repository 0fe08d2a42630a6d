import type { AbortOptions } from '@libp2p/interface'
import type { NodeState } from '../index.ts'
import type { RelayState } from '../network/relay-keeper.ts'

/** What the relays' states make of a node (see {@link nodeStateFrom}). */
export interface DerivedState {
  state: Exclude<NodeState, 'starting'>
  /** One line for a person: what the node is doing or waiting for. */
  progress: string
  /** Some relay is connected. */
  connected: boolean
  /** Some relay holds a reservation for us: others can reach us. */
  reserved: boolean
  /** The first relay error, when offline. */
  lastError?: string
}

/**
 * The node's state machine: `online` while a relay holds a reservation for it; `bootstrapping`
 * while a relay is connected and the reservation is being made, or while the very first dial is
 * under way; `offline` after a failure or once a relay was lost (with when the next dial is due).
 */
export function nodeStateFrom(relays: RelayState[], wasOnline: boolean, now = Date.now()): DerivedState {
  const reserved = relays.some(r => r.reserved)
  const connected = relays.some(r => r.connected)
  if (reserved) return { state: 'online', progress: 'online', connected, reserved }
  if (connected) return { state: 'bootstrapping', progress: 'reserving a relay slot', connected, reserved }
  const attempts = Math.max(...relays.map(r => r.attempts), 0)
  const retryAt = Math.min(...relays.map(r => r.retryAt ?? Infinity))
  const lastError = relays.find(r => r.lastError != null)?.lastError
  // the first attempt is still bootstrapping; after a failure or a loss we are offline
  if (attempts <= 1 && lastError == null && !wasOnline)
    return { state: 'bootstrapping', progress: 'dialing relay', connected, reserved }
  const retry = Number.isFinite(retryAt)
    ? `, retrying in ${Math.max(0, Math.round((retryAt - now) / 1000))} s`
    : ''
  return {
    state: 'offline',
    progress: `relay unreachable${lastError != null ? ` (${lastError})` : ''}${retry}`,
    connected,
    reserved,
    ...(lastError != null ? { lastError } : {})
  }
}

/** Resolves on the first `type` event of `target` that `matches`; rejects with the signal's reason. */
export async function untilEvent(
  target: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>,
  type: string,
  matches: (evt: Event) => boolean,
  options: AbortOptions = {}
): Promise<void> {
  options.signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onEvent = (evt: Event): void => {
      if (!matches(evt)) return
      cleanup()
      resolve()
    }
    const onAbort = (): void => {
      cleanup()
      reject(options.signal?.reason as Error)
    }
    const cleanup = (): void => {
      target.removeEventListener(type, onEvent)
      options.signal?.removeEventListener('abort', onAbort)
    }
    target.addEventListener(type, onEvent)
    options.signal?.addEventListener('abort', onAbort, { once: true })
  })
}
