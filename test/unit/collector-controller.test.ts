import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { CollectorClient } from '../../src/app/collector-client.ts'
import { CollectorController } from '../../src/app/collector-controller.ts'
import type { CollectorHost } from '../../src/app/collector-controller.ts'
import type { ReactiveController } from 'lit'

/** A component on the page, and the collector's live stream as the controller sees it. */
function setUp(): {
  host: CollectorHost & { controllers: ReactiveController[] }
  emit: () => void
  subscribed: () => number
} {
  let listener: (() => void) | undefined
  let subscribed = 0
  vi.spyOn(CollectorClient, 'for').mockReturnValue({
    subscribe: (fn: () => void) => {
      listener = fn
      subscribed++
      return () => {
        listener = undefined
        subscribed--
      }
    }
  } as unknown as CollectorClient)
  const controllers: ReactiveController[] = []
  const host = {
    relay: 'http://127.0.0.1:1',
    controllers,
    addController: (c: ReactiveController) => void controllers.push(c),
    removeController: () => {},
    requestUpdate: () => {},
    updateComplete: Promise.resolve(true)
  }
  return { host, emit: () => listener?.(), subscribed: () => subscribed }
}

describe('the collector controller', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  test('loads when the component joins the page, and turns a burst of spans into one load', async () => {
    const { host, emit } = setUp()
    const load = vi.fn(async () => {})
    const controller = new CollectorController(host, { load, coalesceMs: 300 })
    controller.hostConnected()
    await vi.advanceTimersByTimeAsync(0)
    expect(load).toHaveBeenCalledTimes(1)
    for (let i = 0; i < 10; i++) emit()
    await vi.advanceTimersByTimeAsync(300)
    expect(load).toHaveBeenCalledTimes(2)
    controller.hostDisconnected()
  })

  test('retries with a doubling wait, and stops everything when the component leaves the page', async () => {
    const { host, emit, subscribed } = setUp()
    const load = vi.fn(async () => {})
    const controller = new CollectorController(host, { load })
    controller.hostConnected()
    expect(subscribed()).toBe(1)
    const attempts: number[] = []
    const started = Date.now()
    controller.retry(async () => {
      attempts.push(Date.now() - started)
      return await Promise.resolve(false)
    })
    await vi.advanceTimersByTimeAsync(16_000)
    expect(attempts).toEqual([0, 1_000, 3_000, 7_000, 15_000])
    controller.hostDisconnected()
    expect(subscribed()).toBe(0)
    const loads = load.mock.calls.length
    emit()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(attempts).toHaveLength(5)
    expect(load).toHaveBeenCalledTimes(loads)
  })
})
