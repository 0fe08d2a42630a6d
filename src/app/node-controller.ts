import { nodeStore } from './node-store.ts'
import type { NodeStore } from './node-store.ts'
import type { ReactiveController, ReactiveControllerHost } from 'lit'

/** Re-renders its host whenever the node's status or peers change. */
export class NodeController implements ReactiveController {
  readonly store: NodeStore
  private readonly host: ReactiveControllerHost

  constructor(host: ReactiveControllerHost, store: NodeStore = nodeStore) {
    this.host = host
    this.store = store
    host.addController(this)
  }

  hostConnected(): void {
    this.store.addEventListener('change', this.onChange)
  }

  hostDisconnected(): void {
    this.store.removeEventListener('change', this.onChange)
  }

  private readonly onChange = (): void => {
    this.host.requestUpdate()
  }
}
