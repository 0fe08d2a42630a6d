import type { CheckStatus, DoctorCheck, DoctorReport } from './index.ts'

/** Longest line part the report prints; anything longer read from the network is cut. */
const MAX_TEXT = 400

export const SYMBOLS: Readonly<Record<CheckStatus, string>> = {
  ok: '✓',
  warning: '!',
  failed: '✗',
  skipped: '-'
}

/** 1 when any check failed, else 0: warnings and checks not made do not fail a deployment. */
export function exitCodeOf(checks: readonly DoctorCheck[]): 0 | 1 {
  return checks.some(c => c.status === 'failed') ? 1 : 0
}

/**
 * Text safe to print to a terminal: control characters (which could move the cursor or
 * rewrite earlier lines) and bidirectional overrides (which could reorder what is shown)
 * become `?`, and the text is cut at `max` characters.
 */
export function printable(text: string, max = MAX_TEXT): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?')
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean
}

function sanitize(check: DoctorCheck): DoctorCheck {
  const details =
    check.details != null
      ? Object.fromEntries(
          Object.entries(check.details).map(([k, v]) => [k, typeof v === 'string' ? printable(v) : v])
        )
      : undefined
  return {
    group: check.group,
    subject: printable(check.subject),
    status: check.status,
    message: printable(check.message),
    ...(check.hint != null ? { hint: printable(check.hint) } : {}),
    ...(details != null ? { details } : {})
  }
}

/** The report of a run: every check made printable, counted, and the exit code. */
export function buildReport(url: string, startedAt: Date, checks: readonly DoctorCheck[]): DoctorReport {
  const counts: Record<CheckStatus, number> = { ok: 0, warning: 0, failed: 0, skipped: 0 }
  for (const check of checks) counts[check.status]++
  return {
    url: printable(url),
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    checks: checks.map(sanitize),
    counts,
    exitCode: exitCodeOf(checks)
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/**
 * The report for a person: a heading per thing checked (the config, each relay address, the
 * ICE servers), a ✓ / ! / ✗ / - line per check and, under each warning or failure, what to fix.
 */
export function formatText(report: DoctorReport): string {
  const lines = [`Checking ${report.url}`]
  let heading: string | undefined
  for (const check of report.checks) {
    const next =
      check.group === 'config'
        ? `config ${check.subject}`
        : check.group === 'relay'
          ? `relay ${check.subject}`
          : 'ICE servers (STUN/TURN)'
    if (next !== heading) {
      lines.push('', next)
      heading = next
    }
    const subject = check.group === 'ice' ? `${check.subject}: ` : ''
    lines.push(`  ${SYMBOLS[check.status]} ${subject}${check.message}`)
    if (check.hint != null && (check.status === 'failed' || check.status === 'warning')) {
      lines.push(`      → ${check.hint}`)
    }
  }
  const { ok, warning, failed, skipped } = report.counts
  const parts = [
    ...(failed > 0 ? [`${plural(failed, 'check')} failed`] : []),
    ...(warning > 0 ? [plural(warning, 'warning')] : []),
    `${ok} ok`,
    ...(skipped > 0 ? [`${skipped} not checked`] : [])
  ]
  const verdict =
    failed > 0 ? '✗ something does not work' : warning > 0 ? '✓ works, with warnings' : '✓ all good'
  lines.push(
    '',
    `${verdict}: ${parts.join(', ')} (${(report.durationMs / 1000).toFixed(1)} s, exit ${report.exitCode})`
  )
  return `${lines.join('\n')}\n`
}

/** The report as JSON (what `--json` prints). */
export function formatJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}
