import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import type { ChildProcess } from 'node:child_process'

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

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['relay/main.ts'], {
      env: {
        ...process.env,
        PORT: String(this.port),
        RELAY_PORT: String(this.relayPort),
        HOST: '127.0.0.1',
        DATA_DIR: this.dataDir,
        STATIC_DIR: 'dist',
        ...this.env
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.child = child
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString()
        if (this.output.includes('in a browser')) resolve()
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', (chunk: Buffer) => {
        this.output += chunk.toString()
      })
      child.once('exit', code => reject(new Error(`relay exited with ${code}:\n${this.output}`)))
    })
  }

  /** SIGTERM (graceful) or SIGKILL (a crash); resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child
    if (child == null || child.exitCode != null || child.signalCode != null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill(signal)
    await exited
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
