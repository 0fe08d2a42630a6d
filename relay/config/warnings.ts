import type { RelayConfig } from '../config.ts'

/**
 * Settings that are valid but most likely not what the operator meant; the
 * relay prints these at start and runs anyway.
 */
export function configWarnings(config: RelayConfig): string[] {
  const warnings: string[] = []
  if (config.trustProxy === true && config.publicOrigins == null) {
    warnings.push(
      "TRUST_PROXY is on but PUBLIC_ORIGINS is not set: forwarded headers count only when they name a public origin, and the default ones are the relay's own listen address; set PUBLIC_ORIGINS to the proxy's origin(s)"
    )
  }
  return warnings
}
