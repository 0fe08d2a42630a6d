import { describeError } from '../../src/core/errors.ts'
import { seconds } from './errors.ts'

/** What went wrong reaching a server, and what to do about it, for one report line. */
export interface Explanation {
  message: string
  hint: string
  /** The system or TLS error code found, if any (e.g. `ENOTFOUND`, `SELF_SIGNED_CERT_IN_CHAIN`). */
  code?: string
}

export interface ExplainTarget {
  host: string
  port?: number | string
  /** What listens there, for hints: "the relay's HTTP side", "the relay's WebSockets port", … */
  service: string
  /** The timeout that applied (ms), to say how long nothing came back. */
  timeoutMs?: number
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE'
])

/** The codes (`err.code`) and names along an error's `cause` and `errors` chains, nearest first. */
function codesOf(err: unknown, depth = 0): { codes: string[]; names: string[] } {
  const codes: string[] = []
  const names: string[] = []
  if (depth > 6 || err == null || typeof err !== 'object') return { codes, names }
  const e = err as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown }
  if (typeof e.code === 'string') codes.push(e.code)
  if (typeof e.name === 'string') names.push(e.name)
  const nested: unknown[] = [e.cause, ...(Array.isArray(e.errors) ? (e.errors as unknown[]).slice(0, 8) : [])]
  for (const inner of nested) {
    const found = codesOf(inner, depth + 1)
    codes.push(...found.codes)
    names.push(...found.names)
  }
  return { codes, names }
}

/** The first message along the chain that matches `pattern`. */
function messageMatching(err: unknown, pattern: RegExp, depth = 0): RegExpExecArray | undefined {
  if (depth > 6 || err == null || typeof err !== 'object') return undefined
  const e = err as { message?: unknown; cause?: unknown; errors?: unknown }
  const match = typeof e.message === 'string' ? pattern.exec(e.message) : null
  if (match != null) return match
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? (e.errors as unknown[]).slice(0, 8) : [])]) {
    const found = messageMatching(inner, pattern, depth + 1)
    if (found != null) return found
  }
  return undefined
}

/**
 * Turns an error from fetch, a WebSocket dial or a DNS lookup into one line saying what
 * happened and one saying what to fix: the system and TLS error codes undici, `ws` and libp2p
 * carry somewhere along their `cause` / `errors` chains.
 */
export function explainNetworkError(err: unknown, target: ExplainTarget): Explanation {
  const { codes, names } = codesOf(err)
  const where = target.port != null ? `${target.host}:${target.port}` : target.host
  const code = codes.find(c => c !== 'ERR_INVALID_STATE' && !c.startsWith('UND_ERR_SOCKET')) ?? codes[0]
  const inTime = target.timeoutMs != null ? ` in ${seconds(target.timeoutMs)}` : ''
  const withCode = (e: Omit<Explanation, 'code'>): Explanation => (code != null ? { ...e, code } : e)
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_NODATA') {
    return withCode({
      message: `cannot resolve ${target.host} (${code}): no such name`,
      hint: `check the DNS record of ${target.host} (an A or AAAA record pointing at the server)`
    })
  }
  if (code === 'EAI_AGAIN' || code === 'EAI_FAIL') {
    return withCode({
      message: `the DNS lookup of ${target.host} failed (${code})`,
      hint: "the name server did not answer: check this machine's DNS (resolv.conf) and try again"
    })
  }
  if (code != null && UNTRUSTED.has(code)) {
    return withCode({
      message: `TLS: the certificate of ${where} is not trusted (${code})`,
      hint: 'the certificate is not trusted; for a private CA set NODE_EXTRA_CA_CERTS=<its root certificate, PEM> when running the doctor (and make browsers trust it too); on the internet use a certificate from a public CA'
    })
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return withCode({
      message: `TLS: the certificate of ${where} is not for ${target.host} (${code})`,
      hint: `get a certificate that names ${target.host} (or use the name the certificate has)`
    })
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return withCode({
      message: `TLS: the certificate of ${where} ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet'} (${code})`,
      hint:
        code === 'CERT_HAS_EXPIRED'
          ? 'renew the certificate (the relay picks up renewed TLS_CERT/TLS_KEY files by itself)'
          : "check this machine's clock and the server's"
    })
  }
  if (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'EPROTO' ||
    messageMatching(err, /wrong version number|packet length too long/i) != null
  ) {
    return withCode({
      message: `TLS handshake with ${where} failed: the port does not speak TLS`,
      hint: `${target.service} there is plain http/ws: use http:// (ws) or put TLS in front of it (TLS_CERT/TLS_KEY or a reverse proxy)`
    })
  }
  if (code === 'ECONNREFUSED') {
    return withCode({
      message: `connection refused by ${where}`,
      hint: `nothing listens there: is ${target.service} running, on that port and interface (HOST), and does the proxy point at it?`
    })
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return withCode({
      message: `no route to ${where} (${code})`,
      hint: "check the address (DNS record) and this machine's network"
    })
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return withCode({
      message: `${where} closed the connection (${code})`,
      hint: `a firewall or proxy in front of ${target.service} may be cutting it; look at the proxy's log`
    })
  }
  if (
    code === 'ETIMEDOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    names.includes('TimeoutError')
  ) {
    return withCode({
      message: `no answer from ${where}${inTime}`,
      hint: `is the port open (firewall, cloud security group) and ${target.service} running?`
    })
  }
  return withCode({
    message: describeError(err),
    hint: `check that ${target.service} is running and reachable from here`
  })
}
