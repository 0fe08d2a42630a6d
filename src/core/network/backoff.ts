/** Options of {@link Backoff}. */
export interface BackoffInit {
  /** First delay after a failure, in ms. @default 250 */
  initialMs?: number
  /** Largest delay, in ms. @default 10000 */
  maxMs?: number
  /** Share of the delay drawn at random, 0..1. @default 0.5 */
  jitter?: number
}

/**
 * Exponential backoff with jitter: the delay doubles with every consecutive
 * failure, up to `maxMs`, and part of it is random so that many tabs that lost
 * the same relay do not all come back in the same millisecond.
 */
export class Backoff {
  private failures = 0
  private readonly initialMs: number
  private readonly maxMs: number
  private readonly jitter: number

  constructor(init: BackoffInit = {}) {
    this.initialMs = init.initialMs ?? 250
    this.maxMs = init.maxMs ?? 10_000
    this.jitter = init.jitter ?? 0.5
  }

  /** Number of failures since the last success. */
  get attempts(): number {
    return this.failures
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  fail(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.failures)
    this.failures++
    return Math.round(base * (1 - this.jitter) + base * this.jitter * Math.random())
  }

  reset(): void {
    this.failures = 0
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Runs `fn` with a signal that aborts after `ms` (or when `parent` aborts),
 * and disarms the timer once `fn` settles. Some transports keep the dial
 * signal attached to the connection they return, so a plain
 * `AbortSignal.timeout()` would later close a connection that succeeded.
 */
export async function withTimeout<T>(
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
  parent?: AbortSignal
): Promise<T> {
  const controller = new AbortController()
  const timer = setTimeout(
    () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
    ms
  )
  const onParentAbort = (): void => controller.abort(parent?.reason)
  parent?.addEventListener('abort', onParentAbort, { once: true })
  // a dial that joins another one already in libp2p's dial queue does not
  // always honour our signal: give up on it ourselves
  const aborted = new Promise<never>((_resolve, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), {
      once: true
    })
  })
  try {
    return await Promise.race([fn(controller.signal), aborted])
  } finally {
    clearTimeout(timer)
    parent?.removeEventListener('abort', onParentAbort)
  }
}
