import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base, expect } from '@playwright/test'
import { RelayProcess, freePort } from '../test/helpers/relay-process.ts'
import type { Browser, BrowserContext, Page } from '@playwright/test'

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

  /** The node's own view: status, peers, dial statistics and their errors. */
  async diagnostics(): Promise<unknown> {
    return await this.page.evaluate(() => {
      const node = window.p2pMarketplace
      return node == null
        ? { started: false }
        : { peerId: node.peerId, status: node.status(), peers: node.peers(), dials: node.dialStats }
    })
  }

  /** Peer ids of every connected peer. */
  async connectedPeers(): Promise<string[]> {
    return await this.page.evaluate(() => (window.p2pMarketplace?.peers() ?? []).map(p => p.peerId))
  }
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
  peer: async ({ browser, relay }: { browser: Browser; relay: RelayProcess }, use, testInfo) => {
    const contexts: BrowserContext[] = []
    const peers: PeerPage[] = []
    await use(async () => {
      const context = await browser.newContext()
      contexts.push(context)
      const peer = new PeerPage(context, await context.newPage())
      peers.push(peer)
      await peer.open(relay.url)
      return peer
    })
    if (testInfo.status !== testInfo.expectedStatus) {
      // what every tab thought of the network when the test failed
      const states = await Promise.all(
        peers.map(async p => await p.diagnostics().catch((err: unknown) => ({ closed: String(err) })))
      )
      const text = JSON.stringify(states, null, 2)
      console.log(`tab diagnostics:\n${text}`)
      await testInfo.attach('tab-diagnostics.json', { body: text, contentType: 'application/json' })
    }
    await Promise.all(contexts.map(async c => await c.close().catch(() => {})))
  }
})

export { expect, RelayProcess }
