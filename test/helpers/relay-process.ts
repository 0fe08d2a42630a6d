import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { ChildProcess } from 'node:child_process'
import type { StoredSpan } from '../../src/core/telemetry/collector-api.ts'
import type { RelayHealth } from '../../relay/http.ts'

/**
 * How long a test waits for one answer of the relay's HTTP side. On a machine running six tabs
 * and two CPU hogs, a `GET /api/traces/<id>` was seen to take over 5 s.
 */
const RELAY_HTTP_TIMEOUT_MS = 30_000

/** A relay process as `npm start` runs it, on free ports, over a temporary DATA_DIR. */
export class RelayProcess {
  readonly dataDir: string
  readonly port: number
  readonly relayPort: number
  private child?: ChildProcess
  output = ''

  /** Extra environment for the relay (e.g. `EMBED_ORIGINS`), over the defaults below. */
  readonly env: Record<string, string>

  constructor(dataDir: string, port: number, relayPort: number, env: Record<string, string> = {}) {
    this.dataDir = dataDir
    this.port = port
    this.relayPort = relayPort
    this.env = env
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** The running process's id (for /proc/<pid>/status), if it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined
  }

  /** The most memory the running process has held so far (VmHWM, MB), from /proc. */
  peakRssMb(): number {
    if (this.pid == null) throw new Error('the relay is not running')
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8')
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024
  }

  /** The process is running (started and not yet exited). */
  get running(): boolean {
    const child = this.child
    return child != null && child.exitCode == null && child.signalCode == null
  }

  /**
   * Starts the relay and resolves once it listens (it printed its URL). Can be
   * called again after `stop()`: same ports, same DATA_DIR, so the relay keeps
   * its peer id, its addresses and its records.
   */
  async start(): Promise<void> {
    if (this.running) throw new Error('the relay is already running')
    const child = spawn(process.execPath, ['relay/main.ts'], {
      env: {
        ...process.env,
        PORT: String(this.port),
        RELAY_PORT: String(this.relayPort),
        HOST: '127.0.0.1',
        DATA_DIR: this.dataDir,
        // the built web app: ./dist, or STATIC_DIR to test a build kept elsewhere
        STATIC_DIR: process.env.STATIC_DIR ?? 'dist',
        ...this.env
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.child = child
    // `output` spans every run; readiness is judged on this run's part only
    const from = this.output.length
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString()
        if (this.output.slice(from).includes('in a browser')) resolve()
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', (chunk: Buffer) => {
        this.output += chunk.toString()
      })
      child.once('exit', code => reject(new Error(`relay exited with ${code}:\n${this.output.slice(from)}`)))
    })
  }

  /** SIGTERM (graceful) or SIGKILL (a crash); resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child
    if (child == null || !this.running) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill(signal)
    await exited
  }

  /**
   * Stops the relay (SIGKILL by default: a crash) and starts it again on the
   * same ports and DATA_DIR. Resolves when the new process listens.
   */
  async restart(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.stop(signal)
    await this.start()
  }

  /** The relay's `/healthz` document: peer id, connections, reservations, packages, spans, upstream. */
  async health(): Promise<RelayHealth> {
    const response = await fetch(`${this.url}/healthz`, {
      signal: AbortSignal.timeout(RELAY_HTTP_TIMEOUT_MS)
    })
    if (!response.ok) throw new Error(`GET /healthz answered ${response.status}`)
    return (await response.json()) as RelayHealth
  }

  /** Every span of a trace the embedded collector holds so far (none yet: `[]`). */
  async trace(traceId: string): Promise<StoredSpan[]> {
    const response = await fetch(`${this.url}/api/traces/${traceId}`, {
      signal: AbortSignal.timeout(RELAY_HTTP_TIMEOUT_MS)
    })
    if (response.status === 404) return []
    if (!response.ok) throw new Error(`GET /api/traces/${traceId} answered ${response.status}`)
    return ((await response.json()) as { spans: StoredSpan[] }).spans
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address != null ? address.port : 0))
    })
  })
}
