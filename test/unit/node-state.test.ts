import { describe, expect, test } from 'vitest'
import { SpanStatusCode } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { nodeStateFrom, untilEvent } from '../../src/core/marketplace/node-state.ts'
import { NodeStatusMachine } from '../../src/core/marketplace/node-status.ts'
import { ATTR, BOOTSTRAP_PHASE, SPAN } from '../../src/core/telemetry/schema.ts'
import type { NodeStatus } from '../../src/core/index.ts'
import type { RelayState } from '../../src/core/network/relay-keeper.ts'

const relay = (over: Partial<RelayState> = {}): RelayState => ({
  addr: '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWJqmtzD9UE9vNBcy6jcnUD6Dfso6RWu21YX6yteWqXAuR',
  peerId: '12D3KooWJqmtzD9UE9vNBcy6jcnUD6Dfso6RWu21YX6yteWqXAuR',
  connected: false,
  reserved: false,
  attempts: 0,
  ...over
})

describe("the node's state", () => {
  test('online with a reservation on any relay; reserving while connected', () => {
    expect(nodeStateFrom([relay(), relay({ connected: true, reserved: true })], false)).toMatchObject({
      state: 'online',
      progress: 'online'
    })
    expect(nodeStateFrom([relay({ connected: true, attempts: 1 })], false)).toMatchObject({
      state: 'bootstrapping',
      progress: 'reserving a relay slot',
      connected: true
    })
  })

  test('the first dial is bootstrapping; a failed one, or a relay lost after being online, is offline with when the next dial is', () => {
    const now = 1_000_000
    expect(nodeStateFrom([relay({ attempts: 1 })], false, now)).toMatchObject({
      state: 'bootstrapping',
      progress: 'dialing relay'
    })
    expect(
      nodeStateFrom([relay({ attempts: 2, lastError: 'ECONNREFUSED', retryAt: now + 4_000 })], false, now)
    ).toEqual({
      state: 'offline',
      progress: 'relay unreachable (ECONNREFUSED), retrying in 4 s',
      connected: false,
      reserved: false,
      lastError: 'ECONNREFUSED'
    })
    expect(nodeStateFrom([relay({ attempts: 1, retryAt: now + 1_400 })], true, now)).toMatchObject({
      state: 'offline',
      progress: 'relay unreachable, retrying in 1 s'
    })
  })
})

describe("the node's status machine", () => {
  const setUp = (): {
    machine: NodeStatusMachine
    relays: RelayState[]
    heard: NodeStatus[]
    exporter: InMemorySpanExporter
  } => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const relays = [relay()]
    const heard: NodeStatus[] = []
    const machine = new NodeStatusMachine(
      provider.getTracer('test'),
      { relayStates: () => relays, peers: () => [], ice: () => undefined, connectedPeers: () => 1 },
      status => heard.push(status)
    )
    return { machine, relays, heard, exporter }
  }

  test('bootstraps under a span that ends once a relay holds a reservation; each change is heard once', () => {
    const { machine, relays, heard, exporter } = setUp()
    machine.update() // before libp2p runs nothing is derived from the relays
    expect(machine.state).toBe('starting')
    machine.setProgress('fetching runtime config')
    machine.phase(BOOTSTRAP_PHASE.config)
    machine.started('12D3KooWJqmtzD9UE9vNBcy6jcnUD6Dfso6RWu21YX6yteWqXAuR', 1)
    expect(machine.state).toBe('bootstrapping')
    relays[0] = relay({ connected: true, reserved: true, attempts: 1 })
    machine.update()
    machine.update() // nothing changed: not heard again
    expect(heard.map(s => [s.state, s.progress])).toEqual([
      ['starting', 'fetching runtime config'],
      ['bootstrapping', 'dialing relay'],
      ['online', 'online']
    ])
    expect(machine.timings.onlineAt).toBeGreaterThanOrEqual(machine.timings.startedAt!)
    const [span] = exporter.getFinishedSpans()
    expect(span?.name).toBe(SPAN.bootstrap)
    expect(span?.attributes[ATTR.connectedPeers]).toBe(1)
    expect(span?.status.code).not.toBe(SpanStatusCode.ERROR)
    // the first bootstrap span starts at the node's creation; each phase is an event, in order
    expect(span?.events.map(e => e.name)).toEqual([
      BOOTSTRAP_PHASE.config,
      BOOTSTRAP_PHASE.libp2p,
      BOOTSTRAP_PHASE.relayConnected,
      BOOTSTRAP_PHASE.reserved
    ])
    const ms = (t: [number, number]): number => t[0] * 1e3 + t[1] / 1e6
    expect(ms(span!.startTime)).toBeCloseTo(performance.timeOrigin + machine.timings.createdAt, -1)
  })

  test('a node stopped before going online ends its bootstrap span failed, and stays offline', () => {
    const { machine, relays, exporter } = setUp()
    machine.started('12D3KooWJqmtzD9UE9vNBcy6jcnUD6Dfso6RWu21YX6yteWqXAuR', 1)
    machine.stopped()
    relays[0] = relay({ connected: true, reserved: true })
    machine.update()
    expect(machine.status()).toMatchObject({ state: 'offline', progress: 'stopped' })
    const [span] = exporter.getFinishedSpans()
    expect(span?.attributes[ATTR.error]).toBe('stopped before going online')
  })
})

describe('untilEvent', () => {
  test('resolves on the first matching event, and rejects with the abort reason', async () => {
    const target = new EventTarget()
    const seen = untilEvent(target, 'status', evt => (evt as CustomEvent<number>).detail === 2)
    target.dispatchEvent(new CustomEvent('status', { detail: 1 }))
    target.dispatchEvent(new CustomEvent('status', { detail: 2 }))
    await expect(seen).resolves.toBeUndefined()
    const controller = new AbortController()
    const never = untilEvent(target, 'status', () => false, { signal: controller.signal })
    controller.abort(new Error('gave up'))
    await expect(never).rejects.toThrow('gave up')
  })
})
