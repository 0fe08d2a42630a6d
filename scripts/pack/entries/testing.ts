/**
 * `p2p-marketplace/testing`: Playwright helpers for any page that embeds `<p2p-marketplace>`, a
 * site's own page included. They reach the node through the element's `marketplace` property, the
 * widget's public API, never through a global: the widget sets none on its host page.
 *
 * ```ts
 * import { test, expect } from 'p2p-marketplace/testing'
 *
 * test('the shop finds packages', async ({ page, marketplaceWidget }) => {
 *   await page.goto('https://shop.example/')
 *   const widget = marketplaceWidget('#packages')
 *   await widget.waitForOnline()
 *   await widget.publish({ id: 'acme/left-pad', version: '1.0.0', title: 'Left pad', description: 'Pads', license: 'MIT' })
 *   await widget.waitForPackages({ text: 'left pad' }, ['acme/left-pad'])
 * })
 * ```
 */
import { test as base, expect } from '@playwright/test'
import type { JSHandle, Locator, Page } from '@playwright/test'
import type {
  MarketplaceNode,
  NodeStatus,
  PackageManifest,
  PackageRecord,
  PeerSummary,
  PublishResult,
  SearchQuery,
  SearchResult
} from '../../../src/core/index.ts'

/** How long the helpers wait by default (ms): a first start on a busy machine takes a few seconds. */
export const DEFAULT_TIMEOUT = 30_000

export interface WaitOptions {
  /** @default {@link DEFAULT_TIMEOUT} */
  timeout?: number
}

/** The node's state as the widget shows it: `failed` when the node could not start. */
interface WidgetState {
  state: NodeStatus['state'] | 'not started' | 'failed'
  /** Why it failed, or what the node is doing (its `status().progress`). */
  detail?: string
}

/**
 * One `<p2p-marketplace>` element of a page and its node. Every method reads the element anew, so
 * a handle stays valid across re-renders; methods that need the node wait until it has started.
 */
export class MarketplaceWidget {
  readonly page: Page
  /** The element (Playwright's CSS selectors also reach into open shadow roots). */
  readonly element: Locator

  constructor(page: Page, selector = 'p2p-marketplace') {
    this.page = page
    this.element = page.locator(selector).first()
  }

  /**
   * Waits until the node holds a relay reservation (`status().state === 'online'`) and returns
   * its peer id. Fails at once, with the widget's message, when the node could not start.
   */
  async waitForOnline(options: WaitOptions = {}): Promise<string> {
    await this.waitForState(['online'], options)
    return await this.peerId()
  }

  /** Waits until the node has started (the element's `marketplace` is set) and returns its peer id. */
  async waitForReady(options: WaitOptions = {}): Promise<string> {
    await this.waitForState(['bootstrapping', 'online', 'offline'], options)
    return await this.peerId()
  }

  /** The node's peer id. */
  async peerId(): Promise<string> {
    return await this.evaluate(node => node.peerId)
  }

  /** `status()` of the node: state, relays, peers, direct peers, progress, per-relay states. */
  async status(): Promise<NodeStatus> {
    return await this.evaluate(node => node.status())
  }

  /** `peers()` of the node. */
  async peers(): Promise<PeerSummary[]> {
    return await this.evaluate(node => node.peers())
  }

  /** Publishes (signed with the page's key, gossiped, stored in the DHT). */
  async publish(manifest: PackageManifest): Promise<PublishResult> {
    return await this.evaluate(async (node, m) => await node.publish(m), manifest)
  }

  /** Searches the node's index, its peers and the DHT. */
  async search(query: SearchQuery): Promise<SearchResult> {
    return await this.evaluate(async (node, q) => await node.search(q), query)
  }

  /** Ids of the packages a search returns. */
  async searchIds(query: SearchQuery): Promise<string[]> {
    return (await this.search(query)).packages.map(p => p.id)
  }

  /** Polls a search until it returns every id in `ids`, as a person searching again would. */
  async waitForPackages(query: SearchQuery, ids: string[], options: WaitOptions = {}): Promise<void> {
    await expect
      .poll(async () => await this.searchIds(query), {
        timeout: options.timeout ?? DEFAULT_TIMEOUT,
        message: `a search for ${JSON.stringify(query)} finds ${ids.join(', ')}`
      })
      .toEqual(expect.arrayContaining(ids))
  }

  /** One version of a package (the latest unless named), from wherever the node finds it. */
  async getPackage(id: string, version?: string): Promise<PackageRecord | undefined> {
    return await this.evaluate(async (node, [id, version]) => await node.getPackage(id, version), [
      id,
      version
    ] as const)
  }

  /** A handle on the node itself (wait for it with {@link waitForReady} first). */
  async node(): Promise<JSHandle<MarketplaceNode>> {
    const handle = await this.element.evaluateHandle(el => {
      const node = (el as Element & { marketplace?: MarketplaceNode }).marketplace
      if (node == null)
        throw new Error('the widget has no node yet: wait with waitForReady() or waitForOnline()')
      return node
    })
    return handle
  }

  /**
   * Runs `fn` in the page with the node and `arg` (serializable), and returns its (serializable)
   * result: anything the node API offers beyond the methods above.
   */
  async evaluate<R, Arg = undefined>(
    fn: (node: MarketplaceNode, arg: Arg) => R | Promise<R>,
    arg?: Arg
  ): Promise<R> {
    const node = await this.node()
    try {
      return await node.evaluate(fn as (node: MarketplaceNode, arg: unknown) => R | Promise<R>, arg)
    } finally {
      await node.dispose()
    }
  }

  private async waitForState(wanted: Array<NodeStatus['state']>, options: WaitOptions): Promise<void> {
    const timeout = options.timeout ?? DEFAULT_TIMEOUT
    const started = Date.now()
    await this.element.waitFor({ state: 'attached', timeout })
    let last: WidgetState = { state: 'not started' }
    try {
      const handle = await this.element.evaluateHandle(el => el)
      const result = await this.page.waitForFunction(
        ([el, wanted]) => {
          const widget = el as Element & { marketplace?: MarketplaceNode }
          // the widget shows why its node could not start in its status line
          const line = widget.shadowRoot?.querySelector('[part~="status"]')?.textContent?.trim() ?? ''
          if (line.startsWith('Failed')) return { state: 'failed', detail: line }
          const state = widget.marketplace?.status().state
          return state != null && wanted.includes(state) ? { state } : false
        },
        [handle, wanted] as const,
        { timeout: Math.max(1, timeout - (Date.now() - started)), polling: 100 }
      )
      last = (await result.jsonValue()) as WidgetState
      await handle.dispose()
    } catch (err) {
      const state = await this.currentState().catch(() => last)
      throw new Error(
        `<p2p-marketplace> did not reach ${wanted.join(' or ')} within ${timeout} ms (now: ${state.state}${state.detail != null ? `, ${state.detail}` : ''})`,
        { cause: err }
      )
    }
    if (last.state === 'failed') throw new Error(`<p2p-marketplace> could not start its node: ${last.detail}`)
  }

  private async currentState(): Promise<WidgetState> {
    return await this.element.evaluate(el => {
      const status = (el as Element & { marketplace?: MarketplaceNode }).marketplace?.status()
      return status == null
        ? { state: 'not started' as const }
        : { state: status.state, detail: status.progress }
    })
  }
}

/** A handle on the `<p2p-marketplace>` element that `selector` finds in `page` (the first one). */
export function marketplaceWidget(page: Page, selector?: string): MarketplaceWidget {
  return new MarketplaceWidget(page, selector)
}

export interface MarketplaceFixtures {
  /** {@link marketplaceWidget} on the test's `page`. */
  marketplaceWidget: (selector?: string) => MarketplaceWidget
}

/** Playwright's `test` with a `marketplaceWidget` fixture. */
export const test = base.extend<MarketplaceFixtures>({
  marketplaceWidget: async ({ page }, use) => {
    await use(selector => marketplaceWidget(page, selector))
  }
})

export { expect }
