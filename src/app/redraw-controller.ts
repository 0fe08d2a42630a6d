import type { ReactiveController, ReactiveControllerHost } from 'lit'

/**
 * Redraws its host every `intervalMs` while the host is connected: for what changes without an
 * event to say so (a connection's round trip, the bytes a peer was served).
 */
export class RedrawController implements ReactiveController {
  private readonly host: ReactiveControllerHost
  private readonly intervalMs: number
  private timer?: ReturnType<typeof setInterval>

  constructor(host: ReactiveControllerHost, intervalMs: number) {
    this.host = host
    this.intervalMs = intervalMs
    host.addController(this)
  }

  hostConnected(): void {
    this.timer = setInterval(() => this.host.requestUpdate(), this.intervalMs)
  }

  hostDisconnected(): void {
    clearInterval(this.timer)
  }
}
