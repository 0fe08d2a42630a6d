import type { Connection } from '@libp2p/interface'

/** Short transport name of a connection, for people and span attributes. */
export function transportOf(conn: Pick<Connection, 'remoteAddr'>): string {
  const addr = conn.remoteAddr.toString()
  if (addr.includes('/webrtc')) return 'webrtc'
  if (addr.includes('/p2p-circuit')) return 'circuit-relay'
  if (addr.includes('/ws') || addr.includes('/wss')) return 'websockets'
  if (addr.includes('/memory')) return 'memory'
  if (addr.includes('/tcp')) return 'tcp'
  return 'other'
}

/** A connection that goes straight to the peer over WebRTC (not through a relay). */
export function isDirectWebRTC(conn: Pick<Connection, 'remoteAddr' | 'direct' | 'status'>): boolean {
  return conn.status === 'open' && conn.direct && conn.remoteAddr.toString().includes('/webrtc')
}
