import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { WebSockets, WebSocketsSecure } from '@multiformats/multiaddr-matcher'
import { createLibp2p } from 'libp2p'
import { describeError } from '../../src/core/errors.ts'
import { explainNetworkError } from './network-errors.ts'
import { probeWebSocket } from './websocket-probe.ts'
import type { DoctorCheck } from './index.ts'
import type { Identify } from '@libp2p/identify'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The protocol a circuit relay v2 server offers for reservations and relayed dials. */
export const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
/** More relay addresses than this in one config are not dialled. */
export const MAX_RELAY_ADDRS = 8
const PINGS = 3

export interface RelayCheckInit {
  signal?: AbortSignal
  /** How long connecting to one address may take (ms). @default 15000 */
  dialTimeoutMs?: number
}

/**
 * Why a dial failed, as a report line and a hint. libp2p's WebSocket says nothing about why
 * (every failure is the same error event), so the address is probed by hand for the DNS, TCP,
 * TLS or HTTP answer that stopped it.
 */
async function whyNoConnection(
  addr: Multiaddr,
  dialError: unknown,
  where: { host: string; port?: string; secure: boolean; dialTimeoutMs: number; init: RelayCheckInit }
): Promise<[string, string, DoctorCheck['details']?]> {
  const service = `the relay's WebSockets port (RELAY_PORT${where.secure ? ', or the TLS proxy in front of it' : ''})`
  const target = {
    host: where.host,
    ...(where.port != null ? { port: where.port } : {}),
    service,
    timeoutMs: where.dialTimeoutMs
  }
  const probe = await probeWebSocket(addr, {
    timeoutMs: where.dialTimeoutMs,
    ...(where.init.signal != null ? { signal: where.init.signal } : {})
  })
  if (probe.outcome === 'error') {
    const { message, hint, code } = explainNetworkError(probe.error, target)
    // a TLS port closes on a plain HTTP request
    const tls =
      !where.secure && code === 'ECONNRESET'
        ? '; if that port serves TLS, the address must say so (/tls/ws or /wss)'
        : ''
    return [`cannot connect: ${message}`, `${hint}${tls}`, code != null ? { code } : undefined]
  }
  if (probe.outcome === 'http-status') {
    const status = probe.status
    const proxy = status === 502 || status === 503 || status === 504
    return [
      `cannot connect: the WebSocket upgrade was answered with HTTP ${status}`,
      proxy
        ? 'the proxy could not reach the relay: is the relay running, and does the proxy send WebSocket upgrades to its RELAY_PORT?'
        : `the server at ${where.host}:${where.port ?? ''} is not ${service}, or a proxy does not forward WebSocket upgrades to it (Caddy: reverse_proxy for requests with "Upgrade: websocket")`,
      { httpStatus: status }
    ]
  }
  const { message, hint } = explainNetworkError(dialError, target)
  return [
    `WebSocket connects, but libp2p does not: ${message}`,
    `is the port the relay's RELAY_PORT (libp2p), not its HTTP PORT? ${hint}`
  ]
}

type DoctorLibp2p = Libp2p<{ identify: Identify; ping: Ping }>

/**
 * Dials every relay address from a throwaway libp2p node (WebSockets, Noise, Yamux, identify,
 * ping: what a tab uses to reach its relay) and reports per address whether it connects, the
 * peer id it answers with, the ping round trip and whether it offers circuit relay v2. The
 * node is stopped afterwards, whatever happened.
 */
export async function checkRelays(
  addrs: readonly string[],
  init: RelayCheckInit = {}
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  const node: DoctorLibp2p = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // no listening: the doctor only dials
    addresses: { listen: [] },
    connectionMonitor: { enabled: false },
    services: {
      // run on demand, so the answer is this connection's and its errors are ours to report
      identify: identify({ runOnConnectionOpen: false }),
      // a ping stream is still closing when the next opens: the default limit of one refuses it
      ping: ping({ maxOutboundStreams: PINGS + 1 })
    }
  })
  try {
    for (const addr of addrs.slice(0, MAX_RELAY_ADDRS)) {
      checks.push(...(await checkRelay(node, addr, init)))
    }
    if (addrs.length > MAX_RELAY_ADDRS) {
      checks.push({
        group: 'relay',
        subject: addrs.slice(MAX_RELAY_ADDRS).join(', '),
        status: 'skipped',
        message: `not checked: only the first ${MAX_RELAY_ADDRS} relay addresses are`
      })
    }
  } finally {
    await node.stop()
  }
  return checks
}

async function checkRelay(node: DoctorLibp2p, addr: string, init: RelayCheckInit): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  const add = (
    status: DoctorCheck['status'],
    message: string,
    hint?: string,
    details?: DoctorCheck['details']
  ): void => {
    checks.push({
      group: 'relay',
      subject: addr,
      status,
      message,
      ...(hint != null ? { hint } : {}),
      ...(details != null ? { details } : {})
    })
  }
  let ma: Multiaddr
  try {
    ma = multiaddr(addr)
  } catch (err) {
    add('failed', `not a multiaddr: ${describeError(err)}`, 'fix ANNOUNCE_ADDRS on the relay')
    return checks
  }
  const components = ma.getComponents()
  const last = components.at(-1)
  const expected = last?.name === 'p2p' ? last.value : undefined
  // dialled without its /p2p/ part, so a different peer answering is reported, not just refused
  const transportAddr = expected != null ? ma.decapsulate(`/p2p/${expected}`) : ma
  const secure = WebSocketsSecure.exactMatch(transportAddr)
  if (!secure && !WebSockets.exactMatch(transportAddr)) {
    add(
      'failed',
      'not a WebSocket address (…/tcp/<port>/ws, /wss or /tls/ws): browsers reach the relay over WebSockets',
      "announce the relay's WebSockets address: ANNOUNCE_ADDRS=/dns4/<host>/tcp/443/wss"
    )
    return checks
  }
  const host = components.find(c => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name))?.value ?? '?'
  const port = components.find(c => c.name === 'tcp')?.value
  const dialTimeoutMs = init.dialTimeoutMs ?? 15_000
  const signal = (): AbortSignal =>
    AbortSignal.any([AbortSignal.timeout(dialTimeoutMs), ...(init.signal != null ? [init.signal] : [])])

  let connection: Connection
  const started = performance.now()
  try {
    connection = await node.dial(transportAddr, { signal: signal() })
  } catch (err) {
    if (init.signal?.aborted === true) {
      add('failed', `stopped: ${describeError(init.signal.reason)}`)
      return checks
    }
    add('failed', ...(await whyNoConnection(transportAddr, err, { host, port, secure, dialTimeoutMs, init })))
    return checks
  }
  try {
    const connectMs = Math.round(performance.now() - started)
    add(
      'ok',
      `connected over ${secure ? 'secure WebSockets (wss)' : 'WebSockets (ws)'} in ${connectMs} ms`,
      undefined,
      {
        connectMs,
        secure
      }
    )
    const actual = connection.remotePeer.toString()
    if (expected == null) {
      add(
        'warning',
        `the address has no /p2p/<peer id>; the relay is ${actual}`,
        "browsers need the peer id: the relay appends it to ANNOUNCE_ADDRS itself, so is this config.json the relay's?"
      )
    } else if (actual === expected) {
      add('ok', `peer id ${actual} matches the address`, undefined, { peerId: actual })
    } else {
      add(
        'failed',
        `peer id mismatch: ${actual} answers, the address says ${expected}`,
        "another node answers at this address (a proxy pointing at the wrong RELAY_PORT, or a load balancer across relays?); or the relay's identity changed (DATA_DIR/identity.key) and something serves an old config",
        { peerId: actual, expectedPeerId: expected }
      )
    }

    const rtts: number[] = []
    let pingError: unknown
    for (let i = 0; i < PINGS; i++) {
      try {
        rtts.push(await node.services.ping.ping(connection.remotePeer, { signal: signal() }))
      } catch (err) {
        pingError = err
        break
      }
    }
    if (rtts.length > 0) {
      const sorted = [...rtts].sort((a, b) => a - b)
      const median = sorted[Math.floor(sorted.length / 2)] ?? 0
      const range = rtts.length > 1 ? `, ${sorted[0]}–${sorted.at(-1)} ms` : ''
      const answered =
        rtts.length < PINGS ? `; ping ${rtts.length + 1} failed: ${describeError(pingError)}` : ''
      add(
        'ok',
        `ping: ${median} ms round trip (${rtts.length < PINGS ? `${rtts.length} of ${PINGS}` : PINGS} pings${range})${answered}`,
        undefined,
        {
          pingMs: median,
          pings: rtts.join(',')
        }
      )
    } else {
      add(
        'failed',
        `ping failed: ${describeError(pingError)}`,
        'the relay runs the ping protocol: is something between it and here cutting streams?'
      )
    }

    try {
      const identified = await node.services.identify.identify(connection, { signal: signal() })
      const agent: Record<string, string> =
        identified.agentVersion != null ? { agentVersion: identified.agentVersion } : {}
      if (identified.protocols.includes(HOP_PROTOCOL)) {
        add(
          'ok',
          'offers circuit relay v2 (hop): tabs can reserve a slot and be reached through it',
          undefined,
          agent
        )
      } else {
        add(
          'failed',
          `does not offer circuit relay v2 (${HOP_PROTOCOL})`,
          'tabs reserve a slot on the relay to be reachable: is this the marketplace relay (relay/main.ts)?',
          { ...agent, protocols: identified.protocols.slice(0, 32).join(' ') }
        )
      }
    } catch (err) {
      add(
        'failed',
        `identify failed: ${describeError(err)}`,
        'the relay answers identify: is this the marketplace relay?'
      )
    }
  } finally {
    // the checks above are all this connection was for: a close that fails (the relay hung up
    // first) changes none of them, and node.stop() closes what is left
    await connection.close().catch(() => {})
  }
  return checks
}
