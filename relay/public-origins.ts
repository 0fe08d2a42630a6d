import type { IncomingMessage } from 'node:http'

export interface PublicOriginsInit {
  /** The origins people reach the relay's web side at; the first is the canonical one. */
  origins: string[]
  /** Honour `X-Forwarded-Proto` / `X-Forwarded-Host` (only when they name one of `origins`). */
  trustProxy: boolean
  /** Whether the relay itself serves HTTPS (the scheme of a request that came in directly). */
  tls: boolean
}

/**
 * The relay's own origins. A request is same-origin when its `Origin` is one
 * of them, never because its `Host` says so: with DNS rebinding a foreign page
 * sends `Host: evil.example:PORT` and `Origin: http://evil.example:PORT` alike.
 * URLs the relay hands out are built from the public origin the request came
 * through, so an app behind an HTTPS proxy is told `https://…` URLs.
 */
export class PublicOrigins {
  readonly origins: readonly string[]
  private readonly set: Set<string>
  private readonly trustProxy: boolean
  private readonly tls: boolean

  constructor(init: PublicOriginsInit) {
    if (init.origins.length === 0) throw new Error('PublicOrigins needs at least one origin')
    this.origins = init.origins
    this.set = new Set(init.origins)
    this.trustProxy = init.trustProxy
    this.tls = init.tls
  }

  /** The canonical public origin (the first). */
  get primary(): string {
    return this.origins[0] as string
  }

  has(origin: string): boolean {
    return this.set.has(origin)
  }

  /**
   * The public origin a request reached the relay through: what the proxy
   * forwarded (with `trustProxy`), else its `Host` on the relay's own scheme,
   * when that is a public origin; otherwise the canonical one.
   */
  forRequest(req: IncomingMessage): string {
    return this.named(req) ?? this.primary
  }

  /**
   * The public origin the request's `Host` (or, with `trustProxy`, the forwarded host) names, if
   * it names one. A page on a rebound DNS name sends its own name: none.
   */
  named(req: IncomingMessage): string | undefined {
    const own = this.tls ? 'https' : 'http'
    const host = req.headers.host
    const candidates: Array<string | undefined> = []
    if (this.trustProxy) {
      const proto = firstValue(req.headers['x-forwarded-proto'])
      const forwardedHost = firstValue(req.headers['x-forwarded-host'])
      candidates.push(toOrigin(proto ?? own, forwardedHost ?? host))
    }
    candidates.push(toOrigin(own, host))
    return candidates.find(origin => origin != null && this.set.has(origin))
  }
}

/** The client-side entry of a header a chain of proxies appended to ("https, http"). */
function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header
  const first = value?.split(',')[0]?.trim()
  return first === '' ? undefined : first
}

function toOrigin(scheme: string, host: string | undefined): string | undefined {
  // a Host header is host[:port] only: anything else (user info, a path) is not an origin
  if (host == null || !/^https?$/i.test(scheme) || !/^[\w.:[\]-]+$/.test(host)) return undefined
  try {
    return new URL(`${scheme.toLowerCase()}://${host}`).origin
  } catch {
    return undefined
  }
}
