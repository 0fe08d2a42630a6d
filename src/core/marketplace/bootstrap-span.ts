import { ATTR, OPERATION, SPAN } from '../telemetry/schema.ts'
import { elapsedMs, failSpan } from '../telemetry/tracing.ts'
import type { Span, Tracer } from '@opentelemetry/api'

/** A start-up phase and when it ended (`performance.now()`). */
export interface Phase {
  name: string
  at: number
}

/**
 * The node's `bootstrap` span: open from the start (and again whenever the node, offline, is
 * connecting to a relay again) until it is online, or failed with the reason it went offline.
 */
export class BootstrapSpan {
  private readonly tracer: Tracer
  private span?: Span
  private start = 0

  constructor(tracer: Tracer) {
    this.tracer = tracer
  }

  /**
   * Opens the span unless one is open. `since` (a `performance.now()` time) starts it earlier, at
   * the node's creation, with the `phases` that ended before it as events at their own times.
   */
  begin(peerId: string, relayCount: number, since?: { at: number; phases: Phase[] }): void {
    if (this.span != null) return
    this.span = this.tracer.startSpan(SPAN.bootstrap, {
      attributes: {
        [ATTR.operation]: OPERATION.bootstrap,
        [ATTR.peerId]: peerId,
        [ATTR.bootstrapNodeCount]: relayCount
      },
      ...(since != null ? { startTime: since.at } : {})
    })
    for (const phase of since?.phases ?? []) this.span.addEvent(phase.name, phase.at)
    // measured inside the span: a node's first span can take over a millisecond to start
    this.start = performance.now()
  }

  /** A start-up phase ended now: an event of the open span. */
  phase(name: string): void {
    this.span?.addEvent(name)
  }

  /** Ends the open span: online, or failed with `error`. */
  end(connectedPeers: number, error?: string): void {
    const span = this.span
    if (span == null) return
    this.span = undefined
    span.setAttributes({
      [ATTR.connectionTimeMs]: elapsedMs(this.start),
      [ATTR.connectedPeers]: connectedPeers
    })
    if (error != null) failSpan(span, error)
    span.end()
  }
}
