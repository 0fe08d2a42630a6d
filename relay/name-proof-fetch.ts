import { lookup as dnsLookup } from 'node:dns'
import { request } from 'node:https'
import { Readable } from 'node:stream'
import { isPrivateIp } from '@libp2p/utils'
import type { ProofFetch } from '../src/core/marketplace/name-proofs.ts'
import type { LookupAddress, LookupOptions } from 'node:dns'

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number
) => void

/**
 * Resolves like `dns.lookup`, and fails when any address of the name is not public: a domain
 * namespace is a name anyone can point at 127.0.0.1 or 10.0.0.1, and the relay must not be made
 * to fetch from its own machine or network (SSRF). The connection uses the address checked here,
 * so a second answer cannot differ (no DNS-rebinding window).
 */
function publicLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err != null) {
      callback(err, [])
      return
    }
    const refused = addresses.find(a => isPrivateIp(a.address) !== false)
    if (refused != null || addresses.length === 0) {
      const error: NodeJS.ErrnoException = new Error(
        refused != null
          ? `${hostname} resolves to ${refused.address}, which is not a public address`
          : `${hostname} has no address`
      )
      error.code = 'EPRIVATEADDR'
      callback(error, [])
      return
    }
    if (options.all === true) callback(null, addresses)
    else callback(null, addresses[0]?.address ?? '', addresses[0]?.family)
  })
}

/**
 * The relay's fetch for domains' publisher lists (`NameProofs`): https only, public addresses
 * only, no redirects followed, no cookies or credentials sent.
 */
export function publicOnlyFetch(): ProofFetch {
  return async (url, { signal }) =>
    await new Promise<Response>((resolve, reject) => {
      const target = new URL(url)
      if (target.protocol !== 'https:') {
        reject(new Error(`${url} is not https`))
        return
      }
      const req = request(
        target,
        { signal, lookup: publicLookup, headers: { accept: 'application/json' } },
        res => {
          const headers = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') headers.set(name, value)
          }
          const status = res.statusCode ?? 502
          if ([204, 205, 304].includes(status)) {
            res.resume()
            resolve(new Response(null, { status, headers }))
            return
          }
          resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers }))
        }
      )
      req.on('error', reject)
      req.end()
    })
}
