import { fromString, toString } from 'uint8arrays'
import { ProtocolError } from '../protocols/errors.ts'
import { PROTOCOL_LIMITS } from '../protocols/messages.ts'
import type { PackageRecord } from '../package/schema.ts'

/* The packages topic's message (PROTOCOL.md §4): `{ v: 1, record, traceparent? }` in UTF-8 JSON. */

/** A verified gossip announcement. */
export interface GossipAnnouncement {
  record: PackageRecord
  traceparent?: string
}

/** A gossip message decoded, its record not yet verified. */
export interface RawAnnouncement {
  record: unknown
  traceparent?: string
}

/** The message announcing `record` (PROTOCOL.md §4), with the announcing span's `traceparent`. */
export function encodeAnnouncement(record: PackageRecord, traceparent: string | undefined): Uint8Array {
  return fromString(JSON.stringify({ v: 1, record, traceparent }))
}

/** Decodes a gossip message (size, JSON, version) without looking into its record; throws on anything wrong. */
export function parseAnnouncement(data: Uint8Array): RawAnnouncement {
  if (data.byteLength > PROTOCOL_LIMITS.gossipMessageBytes) {
    throw new ProtocolError(
      'too-large',
      `gossip message of ${data.byteLength} bytes exceeds ${PROTOCOL_LIMITS.gossipMessageBytes}`
    )
  }
  const message = JSON.parse(toString(data)) as { v?: unknown; record?: unknown; traceparent?: unknown }
  if (message.v !== 1) throw new ProtocolError('bad-message', 'unknown gossip message version')
  return {
    record: message.record,
    ...(typeof message.traceparent === 'string' ? { traceparent: message.traceparent } : {})
  }
}

/** Adds `key` to `set`, dropping the oldest entry past `max`. */
export function remember(set: Set<string>, key: string, max: number): void {
  set.add(key)
  if (set.size > max) {
    const oldest = set.values().next()
    if (oldest.done !== true) set.delete(oldest.value)
  }
}
