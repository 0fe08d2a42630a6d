import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { InvalidRelayAddrError } from './errors.ts'
import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a bare WebSocket handshake with a relay address came to. */
export type WebSocketProbe =
  /** 101 Switching Protocols: the path works up to WebSockets, so what failed is above it. */
  | { outcome: 'upgraded' }
  /** Answered, but not with an upgrade (a proxy's 502, a 404, …). */
  | { outcome: 'http-status'; status: number }
  /** DNS, TCP or TLS failed: `error` carries the system or TLS code. */
  | { outcome: 'error'; error: unknown }

/**
 * The `ws://` / `wss://` URL, host and TLS server name of a WebSocket multiaddr; throws
 * `InvalidRelayAddrError` for one without a host or TCP port.
 */
export function webSocketUrlOf(ma: Multiaddr): { url: URL; servername?: string } {
  const components = ma.getComponents()
  const host = components.find(c => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name))
  const port = components.find(c => c.name === 'tcp')?.value
  const names = components.map(c => c.name)
  const secure = names.includes('wss') || names.includes('tls')
  const sni = components.find(c => c.name === 'sni')?.value
  if (host?.value == null || port == null)
    throw new InvalidRelayAddrError(`${ma.toString()} has no host and TCP port`)
  const hostname = host.name === 'ip6' ? `[${host.value}]` : host.value
  const url = new URL(`${secure ? 'wss' : 'ws'}://${hostname}:${port}/`)
  return {
    url,
    ...(sni != null ? { servername: sni } : host.name.startsWith('dns') ? { servername: host.value } : {})
  }
}

/**
 * Opens a WebSocket handshake to a relay address by hand, because the WebSocket libp2p dials
 * with (the WHATWG one) reports every failure as the same detail-less error event: this one
 * keeps the DNS, connection and TLS error codes and the HTTP status a proxy answered with. The
 * socket is closed as soon as the answer is known.
 */
export async function probeWebSocket(
  ma: Multiaddr,
  options: { signal?: AbortSignal; timeoutMs: number }
): Promise<WebSocketProbe> {
  const { url, servername } = webSocketUrlOf(ma)
  const secure = url.protocol === 'wss:'
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs),
    ...(options.signal != null ? [options.signal] : [])
  ])
  return await new Promise<WebSocketProbe>(resolve => {
    const init = {
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: '/',
      method: 'GET',
      signal,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64')
      },
      // a fresh connection: the answer must be this address's, not a pooled one's
      agent: false as const
    }
    const req: ClientRequest = secure
      ? httpsRequest({ ...init, ...(servername != null ? { servername } : {}) })
      : httpRequest(init)
    const done = (result: WebSocketProbe): void => {
      resolve(result)
      req.destroy()
    }
    req.once('upgrade', (_res: IncomingMessage, socket: Duplex) => {
      // an upgraded socket no longer belongs to the request: close it here
      socket.destroy()
      done({ outcome: 'upgraded' })
    })
    req.once('response', (res: IncomingMessage) => {
      res.resume()
      done({ outcome: 'http-status', status: res.statusCode ?? 0 })
    })
    req.once('error', error => done({ outcome: 'error', error: signal.aborted ? signal.reason : error }))
    req.end()
  })
}
