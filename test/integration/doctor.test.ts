/**
 * `npm run doctor` against a real deployment on loopback: coturn with a shared secret (as
 * test/helpers/box-deployment.ts runs it, on 127.0.0.1, here also over TCP and over TLS with a
 * self-signed certificate) and relay processes whose ICE_SERVERS point at it, with the right
 * TURN secret, a wrong one, and STUN ports nobody answers on.
 */
import { execFile, spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runDoctor } from '../../relay/doctor/index.ts'
import { StunClient } from '../../relay/doctor/stun-client.ts'
import { stunBinding } from '../../relay/doctor/turn-probe.ts'
import { RelayProcess, freePort } from '../helpers/relay-process.ts'
import { selfSignedCertificate } from '../helpers/tls.ts'
import type { TestCertificate } from '../helpers/tls.ts'
import type { DoctorCheck, DoctorReport } from '../../relay/doctor/index.ts'
import type { ChildProcess } from 'node:child_process'
import type { Socket } from 'node:dgram'
import type { Server } from 'node:net'

const TURN_SECRET = 'doctor-test-secret-0123456789'
/** A TURN credential (base64 of an HMAC-SHA1): must never appear in what the doctor prints. */
const CREDENTIAL = /[A-Za-z0-9+/]{27}=/

let dir: string
/** coturn's UDP and TCP port. */
let turnPort: number
/** coturn's TLS port (tls-listening-port). */
let tlsPort: number
/** The self-signed certificate coturn's TLS port presents (for 127.0.0.1 and localhost). */
let coturnCertificate: TestCertificate
const servers: Server[] = []
let coturn: ChildProcess | undefined
let coturnOutput = ''
const relays: RelayProcess[] = []
const sockets: Socket[] = []

/** A UDP port on 127.0.0.1 that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>(resolve => socket.close(resolve))
  return port
}

/** A port on 127.0.0.1 that was free a moment ago for both UDP and TCP (coturn's listening-port takes both). */
async function freeUdpTcpPort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort()
    const server = createServer()
    const free = await new Promise<boolean>(resolve => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (free) {
      await new Promise(resolve => server.close(resolve))
      return port
    }
    if (attempt > 20) throw new Error('no port free for both UDP and TCP on 127.0.0.1')
  }
}

/**
 * Resolves once coturn answers a STUN Binding on 127.0.0.1:`port` over UDP, or over TCP with
 * `tcp` (it logs nothing when ready).
 */
async function waitForStun(port: number, tcp = false, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const server = { family: 'IPv4', address: '127.0.0.1', port } as const
    const init = { timeoutMs: 300, attempts: 1 }
    let client: StunClient | undefined
    try {
      client = tcp ? await StunClient.connectStream(server, init) : await StunClient.connect(server, init)
      await stunBinding(client)
      return
    } catch (err) {
      if (Date.now() > deadline || coturn?.exitCode != null) {
        throw new Error(`coturn does not answer on 127.0.0.1:${port}:\n${coturnOutput}`, { cause: err })
      }
    } finally {
      client?.close()
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
async function waitForTcp(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const accepted = await new Promise<boolean>(resolve => {
      const socket = tcpConnect({ host: '127.0.0.1', port }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
      socket.setTimeout(1000, () => {
        socket.destroy()
        resolve(false)
      })
    })
    if (accepted) return
    if (Date.now() > deadline || coturn?.exitCode != null) {
      throw new Error(`coturn does not listen on TCP 127.0.0.1:${port}:\n${coturnOutput}`)
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-doctor-'))
  turnPort = await freeUdpTcpPort()
  tlsPort = await freePort()
  coturnCertificate = await selfSignedCertificate(dir, 'coturn')
  coturn = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${turnPort}`,
      `--tls-listening-port=${tlsPort}`,
      `--cert=${coturnCertificate.certFile}`,
      `--pkey=${coturnCertificate.keyFile}`,
      '--min-port=49160',
      '--max-port=49300',
      '--allow-loopback-peers',
      '--use-auth-secret',
      `--static-auth-secret=${TURN_SECRET}`,
      '--realm=relay.test',
      '--fingerprint',
      '--no-dtls',
      '--no-cli',
      '--log-file=stdout',
      '--simple-log',
      `--userdb=${join(dir, 'turndb')}`,
      `--pidfile=${join(dir, 'turnserver.pid')}`
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  const keep = (chunk: Buffer): void => {
    coturnOutput = (coturnOutput + chunk.toString()).slice(-200_000)
  }
  coturn.stdout?.on('data', keep)
  coturn.stderr?.on('data', keep)
  coturn.once('error', err => (coturnOutput += `\nspawn failed: ${err.message}`))
  await waitForStun(turnPort)
  await waitForStun(turnPort, true)
  await waitForTcp(tlsPort)
})

afterAll(async () => {
  await Promise.all(relays.splice(0).map(async relay => await relay.stop()))
  for (const socket of sockets.splice(0)) socket.close()
  for (const server of servers.splice(0)) server.close()
  const child = coturn
  if (child != null && child.exitCode == null && child.signalCode == null) {
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(killer)
  }
  await rm(dir, { recursive: true, force: true })
})

/** A relay process; `env` may depend on its libp2p port (to announce addresses with it). */
async function startRelay(
  env: Record<string, string> | ((relayPort: number) => Record<string, string>)
): Promise<RelayProcess> {
  const dataDir = join(dir, `relay-${relays.length}`)
  await mkdir(dataDir)
  const relayPort = await freePort()
  const relay = new RelayProcess(dataDir, await freePort(), relayPort, {
    // /config.json needs no built web app
    STATIC_DIR: join(dataDir, 'no-app'),
    ...(typeof env === 'function' ? env(relayPort) : env)
  })
  relays.push(relay)
  await relay.start()
  return relay
}

/** Runs `node scripts/doctor.ts …args` and resolves with its exit code and output. */
async function doctorProcess(
  args: string[],
  env: Record<string, string> = {}
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await new Promise(resolve => {
    const options = { timeout: 60_000, env: { ...process.env, ...env } }
    execFile(process.execPath, ['scripts/doctor.ts', ...args], options, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

const byGroup = (report: DoctorReport, group: DoctorCheck['group']): DoctorCheck[] =>
  report.checks.filter(c => c.group === group)

const iceServers = (port: number): string => `stun:127.0.0.1:${port},turn:127.0.0.1:${port}?transport=udp`

/** A self-signed certificate naming only `name` (not 127.0.0.1), to be presented where another host is dialled. */
async function certificateOnlyFor(name: string): Promise<{ certFile: string; cert: string; key: string }> {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=DNS:${name}`,
    '-keyout',
    keyFile,
    '-out',
    certFile
  ])
  return { certFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') }
}

describe('npm run doctor', () => {
  test('a working deployment: config, relay (peer id, ping, hop), STUN and TURN all ok, exit 0', async () => {
    const relay = await startRelay({ ICE_SERVERS: iceServers(turnPort), TURN_SECRET })
    const { peerId } = await relay.health()
    const { exitCode, report, output } = await runDoctor(relay.url)
    expect(
      report.checks.filter(c => c.status !== 'ok'),
      output
    ).toEqual([])
    expect(exitCode).toBe(0)

    expect(byGroup(report, 'config')).toMatchObject([
      { status: 'ok', message: 'valid: 1 relay address, 2 ICE server URLs, relay version 0.1.0' }
    ])
    expect(byGroup(report, 'relay').map(c => c.message)).toEqual([
      expect.stringMatching(/^connected over WebSockets \(ws\) in \d+ ms$/),
      `peer id ${peerId} matches the address`,
      expect.stringMatching(/^ping: \d+ ms round trip \(3 pings/),
      'offers circuit relay v2 (hop): tabs can reserve a slot and be reached through it'
    ])
    const [stun, turn] = byGroup(report, 'ice')
    expect(stun).toMatchObject({
      subject: `stun:127.0.0.1:${turnPort}`,
      message: expect.stringMatching(/^STUN ok: your public address is 127\.0\.0\.1:\d+$/) as string
    })
    expect(turn).toMatchObject({
      subject: `turn:127.0.0.1:${turnPort}?transport=udp`,
      message: expect.stringMatching(/^TURN ok: relayed address 127\.0\.0\.1:(49[12]\d\d|49300)$/) as string,
      details: { realm: 'relay.test', freed: true, lifetimeSeconds: expect.any(Number) as number }
    })
    expect(output).toMatch(/✓ all good: 7 ok \(.* exit 0\)\n$/)
    expect(output).not.toMatch(CREDENTIAL)
    expect(JSON.stringify(report)).not.toMatch(CREDENTIAL)

    // the command itself, as a person (or the box suite, under ip netns exec) runs it
    const cli = await doctorProcess([relay.url])
    expect(cli.code, cli.stdout + cli.stderr).toBe(0)
    expect(cli.stdout).toContain(
      `  ✓ turn:127.0.0.1:${turnPort}?transport=udp: TURN ok: relayed address 127.0.0.1:`
    )
    expect(cli.stdout).not.toMatch(CREDENTIAL)
  })

  test("a TURN secret that is not coturn's: TURN authentication failed (401), STUN still ok, exit 1", async () => {
    const relay = await startRelay({ ICE_SERVERS: iceServers(turnPort), TURN_SECRET: 'not-the-secret' })
    const cli = await doctorProcess(['--json', relay.url])
    expect(cli.code, cli.stdout + cli.stderr).toBe(1)
    const report = JSON.parse(cli.stdout) as DoctorReport
    expect(report.exitCode).toBe(1)
    expect(report.counts).toMatchObject({ failed: 1, warning: 0 })
    const [stun, turn] = byGroup(report, 'ice')
    expect(stun?.status).toBe('ok')
    expect(turn).toMatchObject({
      status: 'failed',
      message: 'TURN authentication failed (401 Unauthorized)',
      hint: expect.stringContaining("check TURN_SECRET matches coturn's static-auth-secret") as string,
      details: { code: 401, realm: 'relay.test' }
    })
    expect(cli.stdout).not.toMatch(CREDENTIAL)
  })

  test('STUN ports nobody answers on: "no answer in 9 s", for a closed port and for a silent one, exit 1', async () => {
    const closed = await freeUdpPort()
    // a socket that takes every request and answers none, as a firewall dropping them looks
    const silent = createSocket('udp4')
    sockets.push(silent)
    await new Promise<void>(resolve => silent.bind(0, '127.0.0.1', resolve))
    const silentPort = silent.address().port
    const nothing = await freePort()
    const relay = await startRelay(relayPort => ({
      ICE_SERVERS: `stun:127.0.0.1:${closed},stun:127.0.0.1:${silentPort}`,
      // a second address where nothing listens
      ANNOUNCE_ADDRS: `/ip4/127.0.0.1/tcp/${relayPort}/ws,/ip4/127.0.0.1/tcp/${nothing}/ws`
    }))
    const { exitCode, report, output } = await runDoctor(relay.url)
    expect(exitCode).toBe(1)
    expect(byGroup(report, 'config').map(c => [c.status, c.message])).toEqual([
      ['ok', 'valid: 2 relay addresses, 2 ICE server URLs, relay version 0.1.0'],
      ['warning', expect.stringMatching(/^no turn: URL in iceServers/)]
    ])
    expect(byGroup(report, 'ice')).toMatchObject([
      {
        status: 'failed',
        message: `no answer in 9 s: 127.0.0.1 refused UDP port ${closed} (nothing listens there)`
      },
      {
        status: 'failed',
        message: `no answer in 9 s: is UDP port ${silentPort} open?`,
        hint: expect.stringContaining('firewall') as string
      }
    ])
    expect(output).toContain(
      `  ✗ stun:127.0.0.1:${silentPort}: no answer in 9 s: is UDP port ${silentPort} open?\n      → `
    )
    // the first address works, the second is reported with why and what to do
    const unreachable = byGroup(report, 'relay').filter(c => c.subject.includes(`/tcp/${nothing}/`))
    expect(unreachable).toMatchObject([
      {
        status: 'failed',
        message: `cannot connect: connection refused by 127.0.0.1:${nothing}`,
        hint: expect.stringMatching(
          /^nothing listens there: is the relay's WebSockets port \(RELAY_PORT\)/
        ) as string
      }
    ])
    expect(byGroup(report, 'relay').filter(c => c.status === 'ok')).toHaveLength(4)
  })

  test('TLS from a private CA: "not trusted" and what to do without NODE_EXTRA_CA_CERTS; with it, https and wss work', async () => {
    const certificate = await selfSignedCertificate(dir)
    const relay = await startRelay(relayPort => ({
      TLS_CERT: certificate.certFile,
      TLS_KEY: certificate.keyFile,
      ANNOUNCE_ADDRS: `/dns4/localhost/tcp/${relayPort}/tls/ws`,
      ICE_SERVERS: `stun:127.0.0.1:${turnPort}`
    }))
    const url = `https://localhost:${relay.port}`
    const untrusted = await doctorProcess([url])
    expect(untrusted.code).toBe(1)
    expect(untrusted.stdout).toContain(
      `  ✗ TLS: the certificate of localhost:${relay.port} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)\n      → the certificate is not trusted; for a private CA set NODE_EXTRA_CA_CERTS`
    )
    const trusted = await doctorProcess(['--json', url], { NODE_EXTRA_CA_CERTS: certificate.certFile })
    const report = JSON.parse(trusted.stdout) as DoctorReport
    expect(trusted.code, trusted.stdout + trusted.stderr).toBe(0)
    expect(report.checks.filter(c => c.status !== 'ok').map(c => c.message)).toEqual([
      expect.stringMatching(/^no turn: URL in iceServers/)
    ])
    expect(byGroup(report, 'relay')[0]?.message).toMatch(/^connected over secure WebSockets \(wss\)/)
  })

  test('TURN over TCP, TURN and STUN over TLS (coturn, a self-signed certificate): ok once NODE_EXTRA_CA_CERTS trusts it; without, a TLS error naming the host', async () => {
    const relay = await startRelay({
      ICE_SERVERS: `turn:127.0.0.1:${turnPort}?transport=tcp,turns:127.0.0.1:${tlsPort},stuns:127.0.0.1:${tlsPort}`,
      TURN_SECRET
    })
    const trusted = await doctorProcess(['--json', relay.url], {
      NODE_EXTRA_CA_CERTS: coturnCertificate.certFile
    })
    expect(trusted.code, trusted.stdout + trusted.stderr).toBe(0)
    const report = JSON.parse(trusted.stdout) as DoctorReport
    // the relay's config.json lists the stun:/stuns: URLs first
    expect(byGroup(report, 'ice')).toMatchObject([
      {
        subject: `stuns:127.0.0.1:${tlsPort}`,
        status: 'ok',
        message: expect.stringMatching(
          /^STUN ok over TLS: your public address is 127\.0\.0\.1:\d+$/
        ) as string
      },
      {
        subject: `turn:127.0.0.1:${turnPort}?transport=tcp`,
        status: 'ok',
        message: expect.stringMatching(
          /^TURN ok over TCP: relayed address 127\.0\.0\.1:(49[12]\d\d|49300)$/
        ) as string,
        details: { transport: 'tcp', realm: 'relay.test', freed: true, server: `127.0.0.1:${turnPort}` }
      },
      {
        subject: `turns:127.0.0.1:${tlsPort}`,
        status: 'ok',
        message: expect.stringMatching(
          /^TURN ok over TLS: relayed address 127\.0\.0\.1:(49[12]\d\d|49300)$/
        ) as string,
        details: { transport: 'tls', realm: 'relay.test', freed: true, server: `127.0.0.1:${tlsPort}` }
      }
    ])
    expect(trusted.stdout).not.toMatch(CREDENTIAL)

    const untrusted = await doctorProcess([relay.url])
    expect(untrusted.code, untrusted.stdout + untrusted.stderr).toBe(1)
    expect(untrusted.stdout).toContain(
      `  ✓ turn:127.0.0.1:${turnPort}?transport=tcp: TURN ok over TCP: relayed address 127.0.0.1:`
    )
    for (const url of [`turns:127.0.0.1:${tlsPort}`, `stuns:127.0.0.1:${tlsPort}`]) {
      expect(untrusted.stdout).toContain(
        `  ✗ ${url}: TLS: the certificate of 127.0.0.1:${tlsPort} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)\n      → the certificate is not trusted; for a private CA set NODE_EXTRA_CA_CERTS`
      )
    }
    expect(untrusted.stdout).not.toMatch(CREDENTIAL)
  })

  test('a trusted TLS certificate for another host: "not for" the host dialled, a TLS error', async () => {
    const other = await certificateOnlyFor('turn.elsewhere.test')
    // the handshake fails on the doctor's side before any STUN: a bare TLS server is enough
    const server = createTlsServer({ cert: other.cert, key: other.key }, socket => socket.destroy())
    server.on('tlsClientError', () => {})
    servers.push(server)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address != null ? address.port : 0
    const relay = await startRelay({ ICE_SERVERS: `turns:127.0.0.1:${port}`, TURN_SECRET })
    const cli = await doctorProcess(['--json', relay.url], { NODE_EXTRA_CA_CERTS: other.certFile })
    expect(cli.code, cli.stdout + cli.stderr).toBe(1)
    const report = JSON.parse(cli.stdout) as DoctorReport
    expect(byGroup(report, 'ice')).toMatchObject([
      {
        subject: `turns:127.0.0.1:${port}`,
        status: 'failed',
        message: `TLS: the certificate of 127.0.0.1:${port} is not for 127.0.0.1 (ERR_TLS_CERT_ALTNAME_INVALID)`,
        hint: 'get a certificate that names 127.0.0.1 (or use the name the certificate has)',
        details: { transport: 'tls' }
      }
    ])
  })
})
