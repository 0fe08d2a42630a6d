import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base, expect } from '@playwright/test'
import type { ChildProcess } from 'node:child_process'
import type { Browser, BrowserContext, Page } from '@playwright/test'

/** A relay process as `npm start` runs it, on free ports, over a temporary DATA_DIR. */
export class RelayProcess {
  readonly dataDir: string
  readonly port: number
  readonly relayPort: number
  private child?: ChildProcess
  output = ''

  constructor(dataDir: string, port: number, relayPort: number) {
    this.dataDir = dataDir
    this.port = port
    this.relayPort = relayPort
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
        STATIC_DIR: 'dist'
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

/** One tab in its own browser context, as a person (or a test) sees it. */
export class PeerPage {
  readonly page: Page
  readonly context: BrowserContext

  constructor(context: BrowserContext, page: Page) {
    this.context = context
    this.page = page
  }

  async open(url: string): Promise<void> {
    await this.page.goto(url)
  }

  /** Waits until the node says `online` (reservation held) and returns its peer id. */
  async waitOnline(timeout = 30_000): Promise<string> {
    await this.page.waitForFunction(() => window.p2pMarketplace?.status().state === 'online', undefined, {
      timeout
    })
    await expect(this.page.getByTestId('node-state')).toHaveText('Online')
    return await this.peerId()
  }

  async peerId(): Promise<string> {
    return await this.page.evaluate(() => window.p2pMarketplace?.peerId ?? '')
  }

  /** Peers with an open direct WebRTC connection, read off libp2p's connections themselves. */
  async directWebRTCPeers(): Promise<string[]> {
    return await this.page.evaluate(() =>
      (window.p2pMarketplace?.libp2p.getConnections() ?? [])
        .filter(
          c =>
            c.status === 'open' && c.direct && c.limits == null && c.remoteAddr.toString().includes('/webrtc')
        )
        .map(c => c.remotePeer.toString())
    )
  }

  /** Peer ids of every connected peer. */
  async connectedPeers(): Promise<string[]> {
    return await this.page.evaluate(() => (window.p2pMarketplace?.peers() ?? []).map(p => p.peerId))
  }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address != null ? address.port : 0))
    })
  })
}

interface Fixtures {
  /** Opens a new tab in a fresh browser context. */
  peer: () => Promise<PeerPage>
}

interface WorkerFixtures {
  relay: RelayProcess
}

export const test = base.extend<Fixtures, WorkerFixtures>({
  relay: [
    async ({}, use) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'mp-e2e-relay-'))
      const relay = new RelayProcess(dataDir, await freePort(), await freePort())
      await relay.start()
      await use(relay)
      await relay.stop()
      await rm(dataDir, { recursive: true, force: true })
    },
    { scope: 'worker' }
  ],
  peer: async ({ browser, relay }: { browser: Browser; relay: RelayProcess }, use) => {
    const contexts: BrowserContext[] = []
    await use(async () => {
      const context = await browser.newContext()
      contexts.push(context)
      const peer = new PeerPage(context, await context.newPage())
      await peer.open(relay.url)
      return peer
    })
    await Promise.all(contexts.map(async c => await c.close().catch(() => {})))
  }
})

export { expect }
