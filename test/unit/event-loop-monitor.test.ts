import { expect, test, vi } from 'vitest'
import { EventLoopMonitor } from '../../relay/event-loop-monitor.ts'

test('a blocked event loop shows in both measures, idle time in neither', async () => {
  const monitor = new EventLoopMonitor({ windowMs: 5000 })
  monitor.start()
  try {
    // time is the subject here: 300 ms of an idle loop, which the monitor must not count as busy
    await new Promise(resolve => setTimeout(resolve, 300))
    const idleBusy = monitor.maxBusyMs()
    expect(idleBusy).toBeLessThan(100)
    // hold the loop for 250 ms of this thread's CPU, as a synchronous parse of a big body would
    // (on a machine shared with other work, that takes longer than 250 ms of wall time)
    const cpu = (): number => {
      const { user, system } = process.threadCpuUsage()
      return (user + system) / 1000
    }
    const start = cpu()
    const deadline = performance.now() + 10_000
    const wallStart = performance.now()
    while (cpu() - start < 250 && performance.now() < deadline) {
      // spin
    }
    const wall = performance.now() - wallStart
    // the delay histogram records the block once the loop turns again
    await vi.waitFor(() => expect(monitor.maxDelayMs()).toBeGreaterThanOrEqual(Math.min(wall, 240)), {
      timeout: 5_000
    })
    expect(monitor.maxBusyMs()).toBeGreaterThanOrEqual(240)
    expect(monitor.maxBusyMs()).toBeLessThan(400)
  } finally {
    monitor.stop()
  }
})
