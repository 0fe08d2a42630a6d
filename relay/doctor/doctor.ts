import { configWarnings, doctorUrls, fetchConfig } from './config-check.ts'
import { checkIceTarget } from './ice-checks.ts'
import { iceTargets } from './ice-targets.ts'
import { checkRelays } from './relay-check.ts'
import { buildReport, formatJson, formatText } from './report.ts'
import type { DoctorCheck, DoctorInit, DoctorResult } from './index.ts'

/**
 * Checks the deployment at `url` (the address people open, e.g. `https://relay.example`):
 * fetches and validates its `/config.json`, then, at the same time, dials each relay address
 * with libp2p and asks each STUN/TURN server for an address (over UDP, TCP or TLS, as its URL
 * says). Never throws for what it finds (that is in the report); throws `InvalidDoctorUrlError` for a `url` it cannot use.
 */
export async function runDoctor(url: string, init: DoctorInit = {}): Promise<DoctorResult> {
  const startedAt = new Date()
  const { page, config: configUrl } = doctorUrls(url)
  const checks: DoctorCheck[] = []
  const fetched = await fetchConfig(configUrl, {
    ...(init.signal != null ? { signal: init.signal } : {}),
    ...(init.fetchTimeoutMs != null ? { timeoutMs: init.fetchTimeoutMs } : {})
  })
  checks.push(fetched.check)
  const config = fetched.config
  if (config != null) {
    const { targets, checks: entryChecks } = iceTargets(config.iceServers, configUrl.href)
    checks.push(...configWarnings(page, configUrl, config), ...entryChecks)
    const signal = init.signal != null ? { signal: init.signal } : {}
    const [relayChecks, iceChecks] = await Promise.all([
      checkRelays(config.relays, {
        ...signal,
        ...(init.dialTimeoutMs != null ? { dialTimeoutMs: init.dialTimeoutMs } : {})
      }),
      Promise.all(
        targets.map(
          async target =>
            await checkIceTarget(target, {
              ...signal,
              ...(init.stunTimeoutMs != null ? { timeoutMs: init.stunTimeoutMs } : {}),
              ...(init.stunAttempts != null ? { attempts: init.stunAttempts } : {})
            })
        )
      )
    ])
    checks.push(...relayChecks, ...iceChecks)
  }
  const shown = new URL(page.href)
  const report = buildReport(shown.href.replace(/\/$/, ''), startedAt, checks)
  return {
    exitCode: report.exitCode,
    report,
    output: init.json === true ? formatJson(report) : formatText(report)
  }
}
