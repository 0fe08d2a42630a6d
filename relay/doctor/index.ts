/**
 * `npm run doctor -- <https://relay.example>`: checks a relay deployment the way browsers will
 * use it (its `/config.json`, each relay address over libp2p, each STUN/TURN server over UDP, TCP
 * or TLS as its URL says) and says what to fix. {@link runDoctor} is the whole tool as a function.
 */

/** `ok`: works; `warning`: works, but some browsers or networks will have trouble; `failed`: does not work. */
export type CheckStatus = 'ok' | 'warning' | 'failed' | 'skipped'

/** Which part of the deployment a check is about. */
export type CheckGroup = 'config' | 'relay' | 'ice'

/** One line of the report. */
export interface DoctorCheck {
  group: CheckGroup
  /** What was checked: the `/config.json` URL, a relay multiaddr, an ICE server URL. */
  subject: string
  status: CheckStatus
  /** What was found, in one line, e.g. "STUN ok: your public address is 203.0.113.5:40123". */
  message: string
  /** For a warning or a failure: what to fix. */
  hint?: string
  /** Measured values (round-trip times, addresses), for `--json`. Never a credential. */
  details?: Record<string, string | number | boolean>
}

export interface DoctorReport {
  /** The URL checked (without any user name or password it had). */
  url: string
  startedAt: string
  durationMs: number
  checks: DoctorCheck[]
  counts: Record<CheckStatus, number>
  /** 0: everything works (warnings allowed); 1: something does not. */
  exitCode: 0 | 1
}

export interface DoctorInit {
  /** `output` is the JSON report instead of the text one. */
  json?: boolean
  /** Stops every check; those still running fail with the abort reason. */
  signal?: AbortSignal
  /** How long one STUN/TURN request waits for its answer, per send (ms). @default 3000 */
  stunTimeoutMs?: number
  /** How many times a STUN/TURN request is sent. @default 3 */
  stunAttempts?: number
  /** How long fetching `/config.json` may take (ms). @default 10000 */
  fetchTimeoutMs?: number
  /** How long connecting to one relay address may take (ms). @default 15000 */
  dialTimeoutMs?: number
}

export interface DoctorResult {
  /** 0: everything works (warnings allowed); 1: something does not. */
  exitCode: 0 | 1
  report: DoctorReport
  /** What the command prints: the text report, or the JSON one with `json`. */
  output: string
}

export { runDoctor } from './doctor.ts'
export { InvalidDoctorUrlError } from './errors.ts'
