import { describe, expect, test } from 'vitest'
import { USAGE, doctorHelp, parseDoctorArgs } from '../../relay/doctor/args.ts'
import { explainNetworkError } from '../../relay/doctor/network-errors.ts'
import { buildReport, exitCodeOf, formatJson, formatText, printable } from '../../relay/doctor/report.ts'
import type { DoctorCheck } from '../../relay/doctor/index.ts'

const check = (status: DoctorCheck['status'], extra: Partial<DoctorCheck> = {}): DoctorCheck => ({
  group: 'ice',
  subject: 'stun:relay.example:3478',
  status,
  message: `a ${status} check`,
  ...(status === 'failed' || status === 'warning' ? { hint: `fix the ${status}` } : {}),
  ...extra
})

describe('exit code', () => {
  test('0 when everything works, with warnings and checks not made too; 1 as soon as one check fails', () => {
    expect(exitCodeOf([])).toBe(0)
    expect(exitCodeOf([check('ok'), check('warning'), check('skipped')])).toBe(0)
    expect(exitCodeOf([check('ok'), check('failed'), check('warning')])).toBe(1)
    expect(buildReport('https://relay.example', new Date(), [check('failed')]).exitCode).toBe(1)
  })
})

describe('text report', () => {
  const checks: DoctorCheck[] = [
    check('ok', {
      group: 'config',
      subject: 'https://relay.example/config.json',
      message: 'valid: 1 relay address'
    }),
    check('warning', {
      group: 'config',
      subject: 'https://relay.example/config.json',
      message: 'no turn: URL in iceServers',
      hint: 'add one'
    }),
    check('ok', {
      group: 'relay',
      subject: '/dns4/relay.example/tcp/443/wss/p2p/12D3KooWA',
      message: 'connected'
    }),
    check('ok', {
      group: 'relay',
      subject: '/dns4/relay.example/tcp/443/wss/p2p/12D3KooWA',
      message: 'ping: 3 ms'
    }),
    check('ok', { message: 'STUN ok: your public address is 203.0.113.5:40123' }),
    check('failed', {
      subject: 'turn:relay.example:3478?transport=udp',
      message: 'TURN authentication failed (401 Unauthorized)',
      hint: "check TURN_SECRET matches coturn's static-auth-secret"
    }),
    check('skipped', { subject: 'turns:relay.example:5349', message: 'not checked', hint: 'never shown' })
  ]
  const text = formatText(buildReport('https://relay.example', new Date(Date.now() - 1500), checks))

  test('a heading per thing checked, a symbol per line, the hint under each warning and failure', () => {
    const lines = text.split('\n')
    expect(lines[0]).toBe('Checking https://relay.example')
    expect(lines).toContain('config https://relay.example/config.json')
    expect(lines).toContain('  ✓ valid: 1 relay address')
    expect(lines).toContain('  ! no turn: URL in iceServers')
    expect(lines).toContain('relay /dns4/relay.example/tcp/443/wss/p2p/12D3KooWA')
    expect(lines.filter(l => l.startsWith('relay '))).toHaveLength(1)
    expect(lines).toContain('  ✓ stun:relay.example:3478: STUN ok: your public address is 203.0.113.5:40123')
    const failed = lines.indexOf(
      '  ✗ turn:relay.example:3478?transport=udp: TURN authentication failed (401 Unauthorized)'
    )
    expect(failed).toBeGreaterThan(0)
    expect(lines[failed + 1]).toBe("      → check TURN_SECRET matches coturn's static-auth-secret")
    expect(lines).toContain('  - turns:relay.example:5349: not checked')
    expect(text).not.toContain('never shown')
  })

  test('ends with the verdict, the counts and the exit code', () => {
    expect(text.trimEnd().split('\n').at(-1)).toMatch(
      /^✗ something does not work: 1 check failed, 1 warning, 4 ok, 1 not checked \(1\.\d s, exit 1\)$/
    )
    const good = formatText(buildReport('https://relay.example', new Date(), [check('ok'), check('warning')]))
    expect(good).toMatch(/✓ works, with warnings: 1 warning, 1 ok \(.* exit 0\)\n$/)
  })

  test('JSON carries the same checks, counts and exit code', () => {
    const report = JSON.parse(formatJson(buildReport('https://relay.example', new Date(), checks))) as {
      exitCode: number
      counts: Record<string, number>
      checks: DoctorCheck[]
    }
    expect(report.exitCode).toBe(1)
    expect(report.counts).toEqual({ ok: 4, warning: 1, failed: 1, skipped: 1 })
    expect(report.checks[5]).toMatchObject({
      status: 'failed',
      hint: expect.stringContaining('TURN_SECRET') as string
    })
  })
})

describe('what comes from the network is printed safely', () => {
  test('terminal escapes, other control characters and bidi overrides become ?, long text is cut', () => {
    expect(printable('evil\u001b[2J\u001b]0;title\u0007\r\nnext\u202eabc')).toBe(
      'evil?[2J?]0;title???next?abc'
    )
    expect(printable('x'.repeat(1000))).toHaveLength(400)
    expect(printable('x'.repeat(1000)).endsWith('…')).toBe(true)
  })

  test("a check's subject, message, hint and string details are sanitised in the report", () => {
    const report = buildReport('https://relay.example', new Date(), [
      check('failed', {
        subject: 'turn:\u001b[31mx',
        message: 'm\u001b[0m',
        hint: 'h\u0007',
        details: { agentVersion: 'a\u001b', rtt: 3 }
      })
    ])
    expect(report.checks[0]).toMatchObject({
      subject: 'turn:?[31mx',
      message: 'm?[0m',
      hint: 'h?',
      details: { agentVersion: 'a?', rtt: 3 }
    })
    expect(formatText(report)).not.toContain('\u001b')
  })
})

describe('command line', () => {
  test('a URL, --json, --help; anything else is bad usage (exit 2)', () => {
    expect(parseDoctorArgs(['https://relay.example'])).toEqual({
      kind: 'run',
      url: 'https://relay.example',
      json: false
    })
    expect(parseDoctorArgs(['--json', 'http://127.0.0.1:8080'])).toEqual({
      kind: 'run',
      url: 'http://127.0.0.1:8080',
      json: true
    })
    expect(parseDoctorArgs(['https://relay.example', '-h'])).toEqual({ kind: 'help' })
    expect(parseDoctorArgs([])).toEqual({ kind: 'usage', message: "give the relay's URL" })
    expect(parseDoctorArgs(['--verbose', 'https://a'])).toEqual({
      kind: 'usage',
      message: 'unknown option --verbose'
    })
    expect(parseDoctorArgs(['https://a', 'https://b'])).toMatchObject({ kind: 'usage' })
    expect(parseDoctorArgs(['relay.example'])).toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/http\(s\) URL/) as string
    })
    expect(doctorHelp()).toContain(USAGE)
    expect(doctorHelp()).toMatch(/exit status: 0 .* 1 .* 2 bad usage/)
  })
})

describe('network errors explained', () => {
  const target = { host: 'relay.example', port: 443, service: "the relay's HTTP side", timeoutMs: 10_000 }
  const fetchFailed = (code: string, message = code): Error =>
    new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) })

  test('DNS, refused, untrusted and mismatched certificates, timeouts: each with what to do', () => {
    expect(explainNetworkError(fetchFailed('ENOTFOUND'), target)).toMatchObject({
      message: 'cannot resolve relay.example (ENOTFOUND): no such name',
      hint: expect.stringContaining('DNS record') as string
    })
    expect(explainNetworkError(fetchFailed('ECONNREFUSED'), target).message).toBe(
      'connection refused by relay.example:443'
    )
    for (const code of [
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT'
    ]) {
      const { message, hint } = explainNetworkError(fetchFailed(code), target)
      expect(message).toBe(`TLS: the certificate of relay.example:443 is not trusted (${code})`)
      expect(hint).toMatch(/^the certificate is not trusted; for a private CA set NODE_EXTRA_CA_CERTS/)
    }
    expect(explainNetworkError(fetchFailed('ERR_TLS_CERT_ALTNAME_INVALID'), target).message).toMatch(
      /not for relay\.example/
    )
    expect(explainNetworkError(fetchFailed('CERT_HAS_EXPIRED'), target).hint).toMatch(/renew/)
    expect(explainNetworkError(new DOMException('timed out', 'TimeoutError'), target).message).toBe(
      'no answer from relay.example:443 in 10 s'
    )
    // an AggregateError (several addresses tried) is searched too
    const aggregate = new AggregateError([
      new Error('x'),
      Object.assign(new Error('y'), { code: 'EHOSTUNREACH' })
    ])
    expect(explainNetworkError(aggregate, target).message).toBe(
      'no route to relay.example:443 (EHOSTUNREACH)'
    )
  })
})
