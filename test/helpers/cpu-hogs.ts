import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

/**
 * CPU hogs: each a Node process spinning in a busy loop on one core, the load
 * a shared CI machine or a second test run puts beside ours. Each stops itself
 * after `maxMs` even if nobody kills it (a test that dies half-way leaves
 * nothing spinning), and {@link CpuHogs.stop} ends them at once.
 */
export class CpuHogs {
  private readonly children: ChildProcess[] = []

  /** Starts `count` busy loops, each ending by itself after `maxMs`. */
  static start(count: number, maxMs: number): CpuHogs {
    const hogs = new CpuHogs()
    for (let i = 0; i < count; i++) {
      const child = spawn(
        process.execPath,
        ['-e', `const end = Date.now() + ${Math.round(maxMs)}; while (Date.now() < end) {}`],
        { stdio: 'ignore' }
      )
      hogs.children.push(child)
    }
    return hogs
  }

  /** What the hogs are, for a test's report. */
  describe(): string {
    return `${this.children.length} × \`node -e "while (Date.now() < end) {}"\` (one busy loop per core)`
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async child => {
        if (child.exitCode != null || child.signalCode != null) return
        const exited = new Promise(resolve => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
      })
    )
  }
}
