/**
 * One tab as a test drives it (`PeerPage`: the window API, its diagnostics, the problems it
 * reported), the publish form, and the full-mesh wait; the fixtures that open tabs are in
 * fixtures.ts, which re-exports all of this.
 */
import { expect } from '@playwright/test'
import { recordStates, stateLog } from '../test/helpers/state-log.ts'
import type { BrowserContext, Locator, Page } from '@playwright/test'
import type { StateChange } from '../test/helpers/state-log.ts'
import type { DirectDialState, DirectDialStats } from '../src/core/network/direct-connector.ts'
import type { NodeStatus, PublishResult, SearchResult } from '../src/core/index.ts'
import type { PackageManifest, PackageRecord } from '../src/core/package/schema.ts'
import type { SearchQuery } from '../src/core/catalog/catalog.ts'

/**
 * `E2E_DEBUG=<namespaces>` (e.g. `libp2p:circuit-relay*,marketplace*`) turns on libp2p's debug
 * logs in every tab; a failing test gets each tab's console attached.
 */
export const DEBUG = process.env.E2E_DEBUG

/** Something the page reported as going wrong: an uncaught error, or a console error. */
export interface PageProblem {
  kind: 'pageerror' | 'console'
  text: string
  /** Where it came from (a console message's source URL), when known. */
  url?: string
  /** Epoch ms. */
  at: number
}

/** One tab in its own browser context, as a person (or a test) sees it. */
export class PeerPage {
  readonly page: Page
  readonly context: BrowserContext
  /** Uncaught errors and console errors of this tab, from its first page load on. */
  readonly problems: PageProblem[] = []
  /** Every console line of this tab (the newest 50 000), kept when `E2E_DEBUG` turns libp2p's logs on. */
  readonly consoleLog: string[] = []

  constructor(context: BrowserContext, page: Page) {
    this.context = context
    this.page = page
    page.on('pageerror', err => this.problems.push({ kind: 'pageerror', text: String(err), at: Date.now() }))
    page.on('console', msg => {
      if (DEBUG != null) {
        this.consoleLog.push(`${new Date().toISOString()} ${msg.text()}`)
        if (this.consoleLog.length > 50_000) this.consoleLog.shift()
      }
      if (msg.type() === 'error') {
        this.problems.push({ kind: 'console', text: msg.text(), url: msg.location().url, at: Date.now() })
      }
    })
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

  /**
   * Waits until the node holds a reservation on every relay it was given (the
   * state is `online` and no relay is left unreserved).
   */
  async waitReserved(timeout = 30_000): Promise<void> {
    await this.page.waitForFunction(
      () => {
        const status = window.p2pMarketplace?.status()
        return (
          status?.state === 'online' &&
          status.relayStates.length > 0 &&
          status.relayStates.every(r => r.reserved)
        )
      },
      undefined,
      { timeout, polling: 100 }
    )
  }

  async peerId(): Promise<string> {
    return await this.page.evaluate(() => window.p2pMarketplace?.peerId ?? '')
  }

  /** `status()` of the node (contract §2, plus progress and per-relay states). */
  async status(): Promise<NodeStatus> {
    return await this.page.evaluate(() => {
      const node = window.p2pMarketplace
      if (node == null) throw new Error('the node has not started')
      return node.status()
    })
  }

  /** Publishes through the window API; resolves with the contract's `PublishResult`. */
  async publish(manifest: PackageManifest): Promise<PublishResult> {
    return await this.page.evaluate(async m => await window.p2pMarketplace!.publish(m), manifest)
  }

  /** Searches through the window API. */
  async search(query: SearchQuery): Promise<SearchResult> {
    return await this.page.evaluate(async q => await window.p2pMarketplace!.search(q), query)
  }

  /** Ids of the packages a search returns. */
  async searchIds(query: SearchQuery): Promise<string[]> {
    return (await this.search(query)).packages.map(p => p.id)
  }

  /** `getPackage()` through the window API (local, then the DHT, then peers). */
  async getPackage(id: string, version?: string): Promise<PackageRecord | undefined> {
    return await this.page.evaluate(
      async ([id, version]) => await window.p2pMarketplace!.getPackage(id, version),
      [id, version] as const
    )
  }

  /** Polls a search until it returns every id in `ids` (as a user searching again would). */
  async waitForPackages(query: SearchQuery, ids: string[], timeout = 15_000): Promise<void> {
    await expect
      .poll(async () => await this.searchIds(query), {
        timeout,
        message: `a search for ${JSON.stringify(query)} in tab ${await this.peerId()} finds ${ids.join(', ')}`
      })
      .toEqual(expect.arrayContaining(ids))
  }

  /**
   * Peers with an open direct WebRTC connection, read off libp2p's connections themselves; each
   * peer once, even when two direct connections to it are open (on a busy machine both tabs of a
   * pair sometimes dial: the designated dialer's dial is slow, the other falls back after 10 s).
   */
  async directWebRTCPeers(): Promise<string[]> {
    return await this.page.evaluate(() => [
      ...new Set(
        (window.p2pMarketplace?.libp2p.getConnections() ?? [])
          .filter(
            c =>
              c.status === 'open' &&
              c.direct &&
              c.limits == null &&
              c.remoteAddr.toString().includes('/webrtc')
          )
          .map(c => c.remotePeer.toString())
      )
    ])
  }

  /** Waits until this tab has a direct WebRTC connection to each of `peerIds`. */
  async waitDirectTo(peerIds: string[], timeout = 30_000): Promise<void> {
    await expect
      .poll(async () => await this.directWebRTCPeers(), {
        timeout,
        message: `tab ${await this.peerId()} has direct WebRTC connections to every other tab`
      })
      .toEqual(expect.arrayContaining(peerIds))
  }

  /** Starts recording the node's state changes (see {@link stateLog}). */
  async recordStates(): Promise<void> {
    await recordStates(this.page)
  }

  /** The state changes recorded since {@link recordStates}, with the tab's clock (epoch ms). */
  async stateLog(): Promise<StateChange[]> {
    return await stateLog(this.page)
  }

  /** The node's own view: status, peers, dial statistics and their errors. */
  async diagnostics(): Promise<unknown> {
    const node = await this.page.evaluate(async () => {
      const node = window.p2pMarketplace
      if (node == null) return { started: false }
      const libp2p = node.libp2p
      return {
        peerId: node.peerId,
        status: node.status(),
        peers: node.peers(),
        dials: node.dialStats,
        // when each connection opened tells a reconnect (the relay's, say) from a lasting one
        connections: libp2p.getConnections().map(c => ({
          remotePeer: c.remotePeer.toString(),
          remoteAddr: c.remoteAddr.toString(),
          status: c.status,
          openedMsAgo: Date.now() - c.timeline.open
        })),
        // what identify told the peer store of each connected peer (a search asks only those known to speak it)
        protocols: Object.fromEntries(
          await Promise.all(
            [
              ...new Map(libp2p.getConnections().map(c => [c.remotePeer.toString(), c.remotePeer])).values()
            ].map(async (p): Promise<[string, string[] | null]> => [
              p.toString(),
              (await libp2p.peerStore.get(p).catch(() => undefined))?.protocols ?? null
            ])
          )
        )
      }
    })
    return this.problems.length > 0 ? { ...node, problems: this.problems.slice(-20) } : node
  }

  /** The node's direct-dial counters: attempts, failures, errors by class, dials per peer. */
  async dialStats(): Promise<DirectDialStats> {
    return await this.page.evaluate(() => {
      const stats = window.p2pMarketplace?.dialStats
      if (stats == null) throw new Error('the node has not started')
      return stats
    })
  }

  /** Where this tab's upgrade to a direct connection with `peerId` stands (`undefined` once direct, or unknown). */
  async upgradeOf(peerId: string): Promise<DirectDialState | undefined> {
    return await this.page.evaluate(
      id => window.p2pMarketplace?.peers().find(p => p.peerId === id)?.upgrade,
      peerId
    )
  }

  /** Peer ids of every connected peer. */
  async connectedPeers(): Promise<string[]> {
    return await this.page.evaluate(() => (window.p2pMarketplace?.peers() ?? []).map(p => p.peerId))
  }
}

/** What the publish form is filled with (the required fields, and optional tags and file). */
export interface PublishFormFields {
  id: string
  version: string
  title: string
  description: string
  license: string
  tags?: string
  file?: { name: string; mimeType: string; buffer: Buffer }
}

/** Fills the publish form inside `scope` (a page, or a widget's element) and presses Publish. */
export async function submitPublishForm(scope: Page | Locator, fields: PublishFormFields): Promise<void> {
  await scope.getByLabel('Package id *').fill(fields.id)
  await scope.getByLabel('Version *').fill(fields.version)
  await scope.getByLabel('Title *').fill(fields.title)
  await scope.getByLabel('Description *').fill(fields.description)
  await scope.getByLabel('License (SPDX) *').fill(fields.license)
  if (fields.tags != null) await scope.getByLabel('Tags (comma-separated)').fill(fields.tags)
  if (fields.file != null) await scope.getByLabel('Package file (optional)').setInputFiles(fields.file)
  await scope.getByRole('button', { name: 'Publish', exact: true }).click()
}

/**
 * Waits until every tab has a direct WebRTC connection to every other: the settled network a
 * scenario starts from. While it forms, the 15 WebRTC dials of six tabs (signalled through the
 * relay) keep two cores busy: 9-17 s here on a quiet machine, over 40 s on a loaded CI machine,
 * so the wait is a deadline for the whole mesh, all tabs polled at once, not a speed target
 * (`npm run bench` measures that).
 */
export async function waitFullMesh(tabs: PeerPage[], ids: string[], timeout = 90_000): Promise<void> {
  await Promise.all(
    tabs.map(
      async (t, i) =>
        await t.waitDirectTo(
          ids.filter((_, j) => j !== i),
          timeout
        )
    )
  )
}
