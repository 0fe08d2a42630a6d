import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import sirv from 'sirv'
import { RUNTIME_CONFIG_PATH } from '../src/core/constants.ts'
import type { DhtMirrorStats } from './dht-mirror.ts'
import type { Collector, CollectorStats } from './collector/collector.ts'
import type { ForwarderStats } from './collector/forwarder.ts'
import type { PeerRelayState } from './relay-peering.ts'
import type { RuntimeConfig } from '../src/core/config.ts'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { TLSCertificate } from '@libp2p/interface'

export interface HttpServerInit {
  staticDir: string
  collector: Collector
  /**
   * Computed per request: the relay's addresses can change (e.g. after a restart),
   * URLs are built for the public origin the request came through, TURN credentials are fresh.
   */
  runtimeConfig: (req: IncomingMessage) => RuntimeConfig
  health: () => RelayHealth
  /** Serve HTTPS with this certificate (renew with `server.setSecureContext`). */
  tls?: TLSCertificate
}

/** The relay's `GET /healthz` document. */
export interface RelayHealth {
  peerId: string
  /** Open libp2p connections. */
  connections: number
  /** Circuit-relay reservations held by peers right now. */
  reservations: number
  /** Records in the relay's catalog. */
  packages: number
  /** Catalog records written into the relay's DHT (see `DhtMirror`). */
  dhtMirror: DhtMirrorStats
  /** Spans in the embedded collector. */
  spans: number
  /** Each configured peer relay (RELAY_PEERS), when there are any. */
  peerRelays?: PeerRelayState[]
  /** The upstream forwarder's counters, when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  upstream?: ForwarderStats
  /** The embedded collector's bounds at work: stored bytes, file size, live streams, rejections. */
  collector?: CollectorStats
  /** Longest event-loop delay over the last minute, ms (wall clock: includes CPU taken by other processes). */
  eventLoopDelayMaxMs?: number
  /** Longest the relay's own code held its event loop over the last minute, ms (main-thread CPU time). */
  eventLoopBusyMaxMs?: number
}

/**
 * The web app's Content-Security-Policy. Scripts only from the relay's own origin, never inline
 * or evaluated: an injected package title cannot run code. Styles may be inline (the page's
 * critical CSS, and Lit's `style` bindings). Connections may go to any http(s)/ws(s) origin: the
 * runtime config can name relays and a collector on other hosts (`?relay=`, `?otlp=`, several
 * relays). The app is framed only by itself; embedding sites use the widget's script, which runs
 * in their page, not a frame.
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' https: http: wss: ws:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'"
].join('; ')

/** Files that never change once built: hashed chunks, and a version of the widget. */
const IMMUTABLE = /^\/(assets\/|widget\/[^/]+\/)/

/** Headers of the app's pages (not of the widget's files, loaded by other sites). */
function setPageHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', APP_CSP)
  res.setHeader('X-Frame-Options', 'SAMEORIGIN')
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
}

/**
 * The relay's HTTP side: the runtime configuration (readable from any origin,
 * so embedding sites can bootstrap), a health document and the built web app.
 */
export function createHttpServer(init: HttpServerInit): Server | HttpsServer {
  const serveStatic = existsSync(init.staticDir)
    ? sirv(init.staticDir, {
        single: true,
        etag: true,
        gzip: false,
        brotli: false,
        dev: false,
        setHeaders: (res, path) => {
          // the widget's script and chunks are loaded by other sites' pages (module scripts need CORS);
          // hashed chunks and versioned widgets never change, the widget's stable URL is revalidated
          if (path.startsWith('/widget/') || path.startsWith('/assets/')) {
            res.setHeader('Access-Control-Allow-Origin', '*')
            res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin')
          }
          // everything else is the app (its pages, also as the fallback of any route, and its
          // icon); the demo page stands for another site embedding the widget: not the app's policy
          else if (!path.startsWith('/demo/')) setPageHeaders(res)
          res.setHeader(
            'Cache-Control',
            IMMUTABLE.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache'
          )
        }
      })
    : undefined

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(err => {
      if (!res.headersSent) {
        sendJson(res, 500, { error: String(err) })
      } else {
        res.destroy(err as Error)
      }
    })
  }
  return init.tls != null
    ? createHttpsServer({ cert: init.tls.cert, key: init.tls.key }, listener)
    : createServer(listener)

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay')
    // every answer is what its Content-Type says (JSON, scripts, pages), never sniffed as another
    res.setHeader('X-Content-Type-Options', 'nosniff')
    if (await init.collector.handle(req, res, url)) return
    if (url.pathname === RUNTIME_CONFIG_PATH) {
      res.setHeader('Access-Control-Allow-Origin', '*')
      // never cached: it carries short-lived TURN credentials, and addresses that change
      res.setHeader('Cache-Control', 'no-store')
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET')
        res.writeHead(204).end()
        return
      }
      sendJson(res, 200, init.runtimeConfig(req))
      return
    }
    if (url.pathname === '/healthz') {
      sendJson(res, 200, init.health())
      return
    }
    if (serveStatic == null) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(
        `The web app is not built (${init.staticDir} is missing). Run "npm run build" or start with "npm start".\n`
      )
      return
    }
    await new Promise<void>(resolve => {
      serveStatic(req, res, () => {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n')
        resolve()
      })
      res.once('finish', resolve)
    })
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(body))
}
