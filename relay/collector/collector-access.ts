import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Who may use the collector: browsers by their `Origin`, other clients by `Host` or token. */
export interface CollectorAccessInit {
  /** Origins (besides the relay's own) allowed to export and query: embedding sites. `*` allows any. */
  allowedOrigins: string[]
  /** Whether an origin is one of the relay's own (`PUBLIC_ORIGINS`); none when not given. */
  isPublicOrigin?: (origin: string) => boolean
  /**
   * Whether a request's `Host` (or trusted forwarded host) names one of the relay's own origins:
   * a browser's same-origin read carries no `Origin`, and a page on a rebound DNS name sends its
   * own name. Every request does when not given.
   */
  namesPublicOrigin?: (req: IncomingMessage) => boolean
  /**
   * The relay is reachable from other machines (`PUBLIC_ORIGINS`, or a HOST that is not loopback):
   * exports from clients without a browser `Origin` need {@link token}. @default false
   */
  public?: boolean
  /** `COLLECTOR_TOKEN`: tools present it as `Authorization: Bearer <token>`. */
  token?: string
}

/** Why a request is refused: the status and the error answered. */
export interface Refusal {
  status: number
  error: string
}

/** The collector's door: decides, before any route runs, whether a request may use it. */
export class CollectorAccess {
  private readonly allowedOrigins: Set<string>
  private readonly isPublicOrigin: (origin: string) => boolean
  private readonly namesPublicOrigin: (req: IncomingMessage) => boolean
  private readonly public: boolean
  private readonly token?: Buffer

  constructor(init: CollectorAccessInit) {
    this.allowedOrigins = new Set(init.allowedOrigins)
    this.isPublicOrigin = init.isPublicOrigin ?? (() => false)
    this.namesPublicOrigin = init.namesPublicOrigin ?? (() => true)
    this.public = init.public ?? false
    if (init.token != null) this.token = Buffer.from(init.token)
  }

  /**
   * Who may use the collector; undefined when this request may (CORS headers set).
   *
   * - A request with an `Origin` (every browser POST, every cross-origin request) needs one of
   *   the relay's own origins or an embedding site's. Its `Host` has no say: a page on a rebound
   *   DNS name sends a matching `Host` and `Origin`.
   * - `Authorization: Bearer <COLLECTOR_TOKEN>` admits any other client.
   * - Without either, a read (a browser's same-origin GET carries no `Origin`) needs a `Host`
   *   naming one of the relay's own origins, which a page on a rebound name cannot send; an export
   *   (only tools POST without `Origin`) needs a relay that is not public.
   *
   * A tool can forge `Origin` and `Host`: these rules keep other sites' pages and rebound names
   * out, the token keeps tools out of exporting to a public relay.
   */
  refusal(req: IncomingMessage, res: ServerResponse): Refusal | undefined {
    const origin = req.headers.origin
    if (origin != null) {
      if (!this.isPublicOrigin(origin) && !this.allowedOrigins.has('*') && !this.allowedOrigins.has(origin))
        return {
          status: 403,
          error: `origin ${origin} is not allowed; add it to PUBLIC_ORIGINS (the relay's own web side) or EMBED_ORIGINS (a site embedding the widget)`
        }
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Vary', 'Origin')
      return undefined
    }
    const authorization = req.headers.authorization
    if (authorization != null) {
      if (this.tokenMatches(authorization)) return undefined
      return { status: 401, error: "the collector token is not this relay's (COLLECTOR_TOKEN)" }
    }
    if (req.method !== 'POST') {
      if (this.namesPublicOrigin(req)) return undefined
      return {
        status: 403,
        error: `host ${req.headers.host ?? '(none)'} is not one of this relay's origins (PUBLIC_ORIGINS)`
      }
    }
    if (!this.public) return undefined
    return {
      status: 401,
      error:
        this.token != null
          ? 'this relay is public: send "Authorization: Bearer <COLLECTOR_TOKEN>" (browsers: an allowed Origin)'
          : 'this relay is public: exports without a browser Origin need a token, and COLLECTOR_TOKEN is not set'
    }
  }

  private tokenMatches(authorization: string): boolean {
    if (this.token == null) return false
    const given = Buffer.from(/^Bearer (.+)$/i.exec(authorization.trim())?.[1] ?? '')
    return given.length === this.token.length && timingSafeEqual(given, this.token)
  }
}
