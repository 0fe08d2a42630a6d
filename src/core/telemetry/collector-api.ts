/**
 * What the relay's embedded collector returns (`GET /api/traces`,
 * `GET /api/traces/:traceId`, the `spans` events of `/api/traces/stream`):
 * shared by the collector and the trace panel.
 */

export type AttrValue = string | number | boolean | Array<string | number | boolean> | null

/** One span as the collector keeps it. */
export interface StoredSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  /** End minus start, ms. */
  durationMs: number
  attributes: Record<string, AttrValue>
  status: { code: number; message?: string }
  links: Array<{ traceId: string; spanId: string }>
  events: Array<{ name: string; timeUnixNano: string; attributes: Record<string, AttrValue> }>
  resource: Record<string, AttrValue>
  scope: string
  /** When the collector received it, epoch ms. */
  receivedAt: number
}

/** One trace, as the list view shows it. */
export interface TraceSummary {
  traceId: string
  /** The root span's name (or the earliest span's, while the root has not arrived). */
  name: string
  operation?: string
  startTimeUnixNano: string
  durationMs: number
  spanCount: number
  /** `service.instance.id`s (peer ids) that contributed spans. */
  peers: string[]
  error: boolean
}
