import { monitorEventLoopDelay } from 'node:perf_hooks'

export interface EventLoopMonitorInit {
  /** The maxima cover this much of the recent past. @default 60000 */
  windowMs?: number
  /** Sampling resolution, for both measures. @default 10 */
  resolutionMs?: number
}

/** One second's maxima, ms. */
interface Second {
  delay: number
  busy: number
}

/**
 * How long the relay's event loop was held, over the last `windowMs`, two ways:
 * - delay: perf_hooks' `monitorEventLoopDelay`, wall clock: what a request
 *   waited. It includes time the OS gave the CPU to other processes.
 * - busy: main-thread CPU time spent between two consecutive ticks of a
 *   `resolutionMs` timer (`process.threadCpuUsage`): what the relay's own code
 *   held the loop for, whatever else the machine runs.
 * `/healthz` shows both, so a request that blocks the relay is visible from outside.
 */
export class EventLoopMonitor {
  private readonly histogram: ReturnType<typeof monitorEventLoopDelay>
  private readonly seconds: number
  private readonly resolutionMs: number
  /** Maxima of each past second, newest last. */
  private readonly past: Second[] = []
  private busy = 0
  private lastCpu = 0
  private ticks = 0
  private timer?: NodeJS.Timeout

  constructor(init: EventLoopMonitorInit = {}) {
    this.resolutionMs = init.resolutionMs ?? 10
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs })
    this.seconds = Math.max(1, Math.round((init.windowMs ?? 60_000) / 1000))
  }

  start(): void {
    if (this.timer != null) return
    this.histogram.enable()
    this.lastCpu = cpuMs()
    const perSecond = Math.round(1000 / this.resolutionMs)
    this.timer = setInterval(() => {
      const cpu = cpuMs()
      this.busy = Math.max(this.busy, cpu - this.lastCpu)
      this.lastCpu = cpu
      if (++this.ticks % perSecond !== 0) return
      this.past.push(this.current())
      if (this.past.length > this.seconds) this.past.shift()
      this.histogram.reset()
      this.busy = 0
    }, this.resolutionMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.histogram.disable()
  }

  /** The longest wall-clock delay in the window, ms. */
  maxDelayMs(): number {
    return Math.round(Math.max(this.current().delay, ...this.past.map(s => s.delay)))
  }

  /** The longest main-thread CPU time between two ticks in the window, ms. */
  maxBusyMs(): number {
    // the tick in progress counts too: a long task shows while it is still the latest
    const now = Math.max(this.busy, cpuMs() - this.lastCpu)
    return Math.round(Math.max(now, ...this.past.map(s => s.busy)))
  }

  private current(): Second {
    return { delay: this.histogram.count > 0 ? this.histogram.max / 1e6 : 0, busy: this.busy }
  }
}

/** CPU time of this thread (user and system), ms. */
function cpuMs(): number {
  const { user, system } = process.threadCpuUsage()
  return (user + system) / 1000
}
