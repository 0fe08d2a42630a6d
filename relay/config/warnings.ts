import { plainWsAddrs } from './addresses.ts'
import type { RelayConfig } from '../config.ts'

/**
 * Settings that are valid but most likely not what the operator meant; the
 * relay prints these at start and runs anyway.
 */
export function configWarnings(config: RelayConfig): string[] {
  const warnings: string[] = []
  const https = (config.publicOrigins ?? []).filter(origin => origin.startsWith('https:'))
  const announced = config.announceAddrs ?? []
  if (https.length > 0) {
    // a page loaded over https may not open ws:// (mixed content): browsers refuse silently
    const plain =
      announced.length > 0 ? plainWsAddrs(announced) : config.tls == null ? ['its listen address'] : []
    if (plain.length > 0) {
      const what =
        announced.length > 0
          ? `ANNOUNCE_ADDRS has plain ws address(es) ${plain.join(', ')}`
          : `browsers get the relay's plain ws listen address (no ANNOUNCE_ADDRS, no TLS_CERT)`
      warnings.push(
        `${what}, but PUBLIC_ORIGINS has ${https.join(', ')}: browsers on an https page refuse ws:// (mixed content); announce the /wss (or /tls/ws) address your proxy or the relay's TLS serves`
      )
    }
  }
  if (config.trustProxy === true && config.publicOrigins == null) {
    warnings.push(
      "TRUST_PROXY is on but PUBLIC_ORIGINS is not set: forwarded headers count only when they name a public origin, and the default ones are the relay's own listen address; set PUBLIC_ORIGINS to the proxy's origin(s)"
    )
  }
  return warnings
}
