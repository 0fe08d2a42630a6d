/**
 * What the outcome of checking one STUN/TURN URL means, as a report line: a TURN allocation's
 * answer, or why no answer came (over UDP, or over a TCP or TLS stream), with what to fix.
 */
import {
  StunConnectionError,
  StunDecodeError,
  StunProtocolError,
  StunTimeoutError,
  seconds
} from './errors.ts'
import { explainNetworkError } from './network-errors.ts'
import type { IceTarget, IceUrl } from './ice-targets.ts'
import type { DoctorCheck } from './index.ts'
import type { TransportAddress } from './stun-message.ts'
import type { AllocateResult } from './turn-probe.ts'

/** Makes one report line about the URL being checked. */
export type IceCheckLine = (
  status: DoctorCheck['status'],
  message: string,
  hint?: string,
  details?: DoctorCheck['details']
) => DoctorCheck

/** What went wrong checking a UDP URL: no answer (a closed port, or not STUN), a bad answer, the network. */
export function explainUdpError(
  err: unknown,
  url: IceUrl,
  server: TransportAddress,
  where: string
): { message: string; hint: string } {
  if (err instanceof StunTimeoutError) {
    const message = err.refused
      ? `no answer in ${seconds(err.waitedMs)}: ${server.address} refused UDP port ${server.port} (nothing listens there)`
      : `no answer in ${seconds(err.waitedMs)}: is UDP port ${server.port} open?`
    const hint =
      err.invalidAnswer != null
        ? `something answered, but not with STUN (${err.invalidAnswer}): is ${where} the STUN/TURN server?`
        : err.refused
          ? `start the STUN/TURN server (coturn) or check its listening-port and listening-ip (${where})`
          : `check the server runs and listens on ${where}, and that every firewall between (a cloud security group too) lets UDP ${server.port} in and out`
    return { message, hint }
  }
  if (err instanceof StunProtocolError || err instanceof StunDecodeError) {
    return {
      message: `the server's answer is not valid: ${err.message}`,
      hint: `is ${where} a STUN/TURN server?`
    }
  }
  return explainNetworkError(err, {
    host: url.host,
    port: url.port,
    service: 'the STUN/TURN server'
  })
}

/**
 * What went wrong checking a `?transport=tcp`, `stuns:` or `turns:` URL: the connection
 * (refused, no answer, the TLS handshake, the certificate), or what came back on it.
 */
export function explainStreamError(
  err: unknown,
  url: IceUrl,
  where: string
): { message: string; hint: string } {
  const protocol = url.transport.toUpperCase()
  const ports =
    "coturn's listening-port takes turn:…?transport=tcp, its tls-listening-port (5349) turns: and stuns:"
  if (err instanceof StunTimeoutError) {
    return {
      message: `no answer in ${seconds(err.waitedMs)} over ${protocol}: ${where} took the connection, but sent nothing back`,
      hint: `is ${where} a STUN/TURN server? (${ports})`
    }
  }
  if (err instanceof StunConnectionError) {
    if (err.reason === 'connect') {
      return {
        message: `${err.message}: is TCP port ${url.port} open?`,
        hint: `check the server runs and listens on ${where}, and that every firewall between (a cloud security group too) lets TCP ${url.port} in`
      }
    }
    if (err.reason === 'handshake') {
      return {
        message: `TLS: ${err.message}`,
        hint: `is ${url.port} the server's TLS port? (${ports})`
      }
    }
    return {
      message: `${err.message} (no answer came)`,
      hint: `is ${where} a STUN/TURN server? its log may say why`
    }
  }
  if (err instanceof StunDecodeError || err instanceof StunProtocolError) {
    if (url.transport === 'tcp' && /a TLS record/.test(err.message)) {
      return {
        message: `the answer over ${protocol} is not STUN: ${where} speaks TLS`,
        hint: `use ${url.scheme}s:${url.host.includes(':') ? `[${url.host}]` : url.host}:${url.port} for a TLS port, or the server's plain port (${ports})`
      }
    }
    return {
      message: `the server's answer over ${protocol} is not valid: ${err.message}`,
      hint: `is ${where} a STUN/TURN server? (${ports})`
    }
  }
  const explained = explainNetworkError(err, {
    host: url.host,
    port: url.port,
    service: 'the STUN/TURN server'
  })
  if (explained.code === 'ECONNREFUSED') {
    return {
      message: `connection refused by ${where}: nothing listens on TCP port ${url.port}`,
      hint: `start the STUN/TURN server (coturn) or check its ports and listening-ip, and that it runs without no-tcp/no-tls (${ports})`
    }
  }
  if (/the port does not speak TLS/.test(explained.message)) {
    return {
      message: explained.message,
      hint: `is ${url.port} the server's plain TCP port? use turn:…?transport=tcp for it, or its TLS port for ${url.scheme}: (${ports})`
    }
  }
  return explained
}

/** The report line for a TURN allocation's outcome. */
export function turnCheck(
  result: AllocateResult,
  target: IceTarget,
  { where, over, transport }: { where: string; over: string; transport: IceUrl['transport'] },
  check: IceCheckLine,
  now: () => number
): DoctorCheck {
  const expiry = credentialExpiry(target.username)
  const expires: Record<string, string> =
    expiry != null ? { credentialsExpire: new Date(expiry).toISOString() } : {}
  switch (result.outcome) {
    case 'allocated': {
      const freed =
        result.freed === true
          ? ''
          : `; could not free it (${result.freed}): it expires in ${result.lifetime ?? 600} s`
      return check(
        'ok',
        `TURN ok${over}: relayed address ${formatAddress(result.relayed)}${freed}`,
        undefined,
        {
          server: where,
          transport,
          relayedAddress: formatAddress(result.relayed),
          ...(result.mapped != null ? { publicAddress: formatAddress(result.mapped) } : {}),
          ...(result.lifetime != null ? { lifetimeSeconds: result.lifetime } : {}),
          ...(result.realm != null ? { realm: result.realm } : {}),
          freed: result.freed === true,
          ...expires
        }
      )
    }
    case 'auth-failed': {
      const expired = expiry != null && expiry < now()
      return check(
        'failed',
        `TURN authentication failed (${result.code}${result.reason !== '' ? ` ${result.reason}` : ''})`,
        expired
          ? `the credentials expired at ${new Date(expiry).toISOString()}: is the relay's clock right? (TURN_TTL sets their lifetime)`
          : "check TURN_SECRET matches coturn's static-auth-secret (and that coturn runs with use-auth-secret)",
        { server: where, realm: result.realm, code: result.code, ...expires }
      )
    }
    case 'needs-credentials':
      return check(
        'failed',
        `the TURN server asks for credentials (401, realm "${result.realm}") but config.json gives none for this URL`,
        "set TURN_SECRET on the relay to coturn's static-auth-secret",
        { server: where, realm: result.realm }
      )
    case 'refused':
      return check(
        'failed',
        `the TURN server refused the allocation: ${result.code} ${result.reason}`.trim(),
        refusalHint(result.code),
        {
          server: where,
          code: result.code
        }
      )
  }
}

function refusalHint(code: number): string {
  if (code === 403) return 'the server forbids it: see its log (a denied-peer-ip or no-udp-relay setting?)'
  if (code === 486)
    return "a per-user quota (coturn's user-quota) is reached: raise it, or wait for old allocations to expire"
  if (code === 508)
    return "the server is out of relay ports or capacity: widen coturn's min-port/max-port or raise total-quota"
  if (code === 442) return 'the server does not relay UDP: browsers need it (remove no-udp-relay)'
  return "see the TURN server's log"
}

/** The expiry (ms) of a TURN REST API username (`<unix expiry>:<suffix>`), if it is one. */
function credentialExpiry(username: string | undefined): number | undefined {
  const seconds = /^(\d{9,11}):/.exec(username ?? '')?.[1]
  return seconds != null ? Number(seconds) * 1000 : undefined
}

/** `203.0.113.5:3478`, `[2001:db8::1]:3478`. */
export function formatAddress(address: TransportAddress): string {
  return address.family === 'IPv6'
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`
}
