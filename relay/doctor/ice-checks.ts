/**
 * Checks one STUN or TURN URL from this machine, the way a browser gathering candidates would
 * use it; which URLs are in `ice-targets.ts`, what each outcome means in `ice-verdicts.ts`.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { describeError } from '../../src/core/errors.ts'
import { DnsTimeoutError } from './errors.ts'
import { parseIceUrl } from './ice-targets.ts'
import { explainStreamError, explainUdpError, formatAddress, turnCheck } from './ice-verdicts.ts'
import { explainNetworkError } from './network-errors.ts'
import { StunClient } from './stun-client.ts'
import { stunBinding, turnAllocate } from './turn-probe.ts'
import type { IceTarget, IceUrl } from './ice-targets.ts'
import type { IceCheckLine } from './ice-verdicts.ts'
import type { DoctorCheck } from './index.ts'
import type { StunClientInit } from './stun-client.ts'
import type { TransportAddress } from './stun-message.ts'

/** How long resolving a STUN/TURN host name may take (ms). */
const DNS_TIMEOUT_MS = 5000

export interface IceCheckInit extends StunClientInit {
  signal?: AbortSignal
  /** Resolves a host name (node:dns's `lookup` by default). */
  resolve?: (host: string) => Promise<{ address: string; family: number }>
  /** The clock the credentials' expiry is judged by. @default Date.now */
  now?: () => number
}

/**
 * Checks one STUN or TURN URL from here, over the URL's transport (UDP, TCP for
 * `?transport=tcp`, TLS for `stuns:`/`turns:`): a Binding for `stun:`, an allocation (freed at
 * once) for `turn:`. Over TLS the certificate is verified as browsers would, for the URL's host
 * (also sent as SNI when it is a name); a private CA is trusted through `NODE_EXTRA_CA_CERTS`.
 */
export async function checkIceTarget(target: IceTarget, init: IceCheckInit = {}): Promise<DoctorCheck> {
  const check: IceCheckLine = (status, message, hint, details) => ({
    group: 'ice',
    subject: target.url,
    status,
    message,
    ...(hint != null ? { hint } : {}),
    ...(details != null ? { details } : {})
  })
  let url: IceUrl
  try {
    url = parseIceUrl(target.url)
  } catch (err) {
    return check(
      'failed',
      `not a valid STUN/TURN URL: ${(err as Error).message}`,
      'fix ICE_SERVERS on the relay'
    )
  }
  const turn = url.scheme.startsWith('turn')
  let server: TransportAddress
  try {
    server = await resolve(url.host, url.port, init)
  } catch (err) {
    const { message, hint } = explainNetworkError(err, { host: url.host, service: 'the STUN/TURN server' })
    return check('failed', message, `${hint} (ICE_SERVERS names it)`)
  }
  const where = formatAddress(server)
  const over = url.transport === 'udp' ? '' : ` over ${url.transport.toUpperCase()}`
  let client: StunClient | undefined
  try {
    const clientInit: StunClientInit = {
      ...(init.timeoutMs != null ? { timeoutMs: init.timeoutMs } : {}),
      ...(init.attempts != null ? { attempts: init.attempts } : {})
    }
    client =
      url.transport === 'udp'
        ? await StunClient.connect(server, clientInit)
        : await StunClient.connectStream(server, {
            ...clientInit,
            ...(init.signal != null ? { signal: init.signal } : {}),
            // SNI carries names only (RFC 6066); an IP address is looked for in the certificate as is
            ...(url.transport === 'tls' ? { tls: isIP(url.host) === 0 ? { servername: url.host } : {} } : {})
          })
    if (!turn) {
      const { mapped, rttMs } = await stunBinding(client, { signal: init.signal })
      return check('ok', `STUN ok${over}: your public address is ${formatAddress(mapped)}`, undefined, {
        server: where,
        transport: url.transport,
        publicAddress: formatAddress(mapped),
        rttMs: Math.round(rttMs)
      })
    }
    const credentials =
      target.username != null && target.credential != null
        ? { username: target.username, password: target.credential }
        : undefined
    const result = await turnAllocate(client, credentials, { signal: init.signal })
    return turnCheck(result, target, { where, over, transport: url.transport }, check, init.now ?? Date.now)
  } catch (err) {
    if (init.signal?.aborted === true) return check('failed', `stopped: ${describeError(init.signal.reason)}`)
    if (url.transport !== 'udp') {
      const { message, hint } = explainStreamError(err, url, where)
      return check('failed', message, hint, { server: where, transport: url.transport })
    }
    const { message, hint } = explainUdpError(err, url, server, where)
    return check('failed', message, hint, { server: where })
  } finally {
    client?.close()
  }
}

async function resolve(host: string, port: number, init: IceCheckInit): Promise<TransportAddress> {
  const family = isIP(host)
  if (family !== 0) return { address: host, port, family: family === 6 ? 'IPv6' : 'IPv4' }
  const lookupHost = init.resolve ?? (async (name: string) => await lookup(name))
  let timer: NodeJS.Timeout | undefined
  try {
    const found = await Promise.race([
      lookupHost(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DnsTimeoutError(host)), DNS_TIMEOUT_MS)
      })
    ])
    return { address: found.address, port, family: found.family === 6 ? 'IPv6' : 'IPv4' }
  } finally {
    clearTimeout(timer)
  }
}
