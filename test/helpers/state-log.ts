import type { Page } from 'playwright-core'

/** One change of a node's state, stamped with the tab's clock (epoch ms: this machine's). */
export interface StateChange {
  state: string
  at: number
}

/**
 * Starts recording the node's state changes in the page, so a test or benchmark can tell
 * afterwards exactly when it went offline or online again. Recording twice is harmless.
 */
export async function recordStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __stateLog?: Array<{ state: string; at: number }> }
    if (w.__stateLog != null) return
    const log: Array<{ state: string; at: number }> = []
    w.__stateLog = log
    window.p2pMarketplace!.addEventListener('status', evt => {
      if (log.at(-1)?.state !== evt.detail.state) log.push({ state: evt.detail.state, at: Date.now() })
    })
  })
}

/** The state changes recorded since {@link recordStates}. */
export async function stateLog(page: Page): Promise<StateChange[]> {
  return await page.evaluate(
    () => (window as unknown as { __stateLog?: Array<{ state: string; at: number }> }).__stateLog ?? []
  )
}
