import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { multiaddr } from '@multiformats/multiaddr'
import { WebSockets, WebSocketsSecure } from '@multiformats/multiaddr-matcher'
import { peerIdInAddr } from '../../src/core/network/relay-addrs.ts'
import { InvalidRelayConfigError } from './errors.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Splits a comma-separated setting, dropping blanks. */
export function commaList(value: string | undefined): string[] {
  if (value == null) return []
  return value
    .split(',')
    .map(entry => entry.trim())
    .filter(entry => entry !== '')
}

/**
 * `ANNOUNCE_ADDRS`: the WebSockets multiaddrs browsers dial, when the relay is
 * reached through a name, a proxy or a NAT rather than at its listen address.
 * A trailing `/p2p/<id>` is allowed (the relay checks it is its own at start);
 * otherwise libp2p appends it.
 */
export function parseAnnounceAddrs(value: string | undefined): string[] {
  return commaList(value).map(entry => {
    const bad = (why: string): InvalidRelayConfigError =>
      new InvalidRelayConfigError(
        `ANNOUNCE_ADDRS (--announce-addrs): "${entry}" ${why}; expected comma-separated multiaddrs such as /dns4/relay.example.com/tcp/443/wss`
      )
    let ma: Multiaddr
    try {
      ma = multiaddr(entry)
    } catch (err) {
      throw bad(`is not a multiaddr (${(err as Error).message})`)
    }
    if (ma.getComponents().some(c => c.name === 'p2p-circuit')) {
      throw bad("is a relayed (/p2p-circuit) address; give the relay's own address")
    }
    if (!WebSockets.exactMatch(ma) && !WebSocketsSecure.exactMatch(ma)) {
      throw bad(
        'is not a WebSockets address (…/tcp/<port>/ws, /wss or /tls/ws); browsers reach the relay over WebSockets'
      )
    }
    return ma.toString()
  })
}

/** The announced addresses browsers on an https page cannot dial (plain ws: mixed content). */
export function plainWsAddrs(addrs: string[]): string[] {
  return addrs.filter(addr => WebSockets.exactMatch(multiaddr(addr)))
}

/**
 * `PUBLIC_ORIGINS`: the http(s) origins people open the relay's web side at,
 * normalised (`https://market.example:443/` becomes `https://market.example`).
 */
export function parsePublicOrigins(value: string | undefined): string[] | undefined {
  const entries = commaList(value)
  if (entries.length === 0) return undefined
  return entries.map(entry => {
    const bad = (why: string): InvalidRelayConfigError =>
      new InvalidRelayConfigError(
        `PUBLIC_ORIGINS (--public-origins): "${entry}" ${why}; expected comma-separated origins such as https://market.example`
      )
    let url: URL
    try {
      url = new URL(entry)
    } catch {
      throw bad('is not a URL')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('is not an http or https origin')
    if (url.username !== '' || url.password !== '') throw bad('has a user name or password')
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]/.test(entry)) {
      throw bad('has a path, query or fragment: an origin is scheme://host[:port] only')
    }
    return url.origin
  })
}

/**
 * The public origins when `PUBLIC_ORIGINS` is not set: the address the relay
 * listens on. On loopback, `localhost` too (what people type); on a wildcard
 * HOST, every local interface address. IP literals and `localhost` cannot be
 * rebound by a foreign DNS name, so a page at `http://evil.example:PORT` is
 * never taken for the relay's own.
 */
export function defaultPublicOrigins(host: string, port: number, tls: boolean): string[] {
  const scheme = tls ? 'https' : 'http'
  const origin = (h: string): string => new URL(`${scheme}://${isIP(h) === 6 ? `[${h}]` : h}:${port}`).origin
  if (host === '0.0.0.0' || host === '::') {
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter(info => info != null && (host === '::' || info.family === 'IPv4'))
      // the address another machine would use first, loopback last
      .sort((a, b) => Number(a?.internal) - Number(b?.internal))
      .map(info => info?.address ?? '')
      .filter(address => address !== '' && !address.startsWith('fe80:'))
    return [...new Set([...addresses, 'localhost'].map(origin))]
  }
  return [...new Set([host, ...(isLoopbackHost(host) ? ['localhost'] : [])].map(origin))]
}

/** Whether HOST is a loopback name or address: only this machine reaches the relay there. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

/**
 * Refuses an `ANNOUNCE_ADDRS` entry whose `/p2p/<id>` is not this relay's (`ownId`, whose key is
 * `keyFile`): browsers would dial an impostor's id. Entries without one are fine.
 */
export function checkAnnounceAddrs(addrs: readonly string[], ownId: string, keyFile: string): void {
  for (const addr of addrs) {
    const id = peerIdInAddr(multiaddr(addr))
    if (id != null && id !== ownId) {
      throw new InvalidRelayConfigError(
        `ANNOUNCE_ADDRS (--announce-addrs): "${addr}" names peer ${id}, but this relay is ${ownId} (from ${keyFile}); leave /p2p/<id> out, the relay appends its own`
      )
    }
  }
}
