import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RelayProcess, freePort } from '../test/helpers/relay-process.ts'
import type { Browser, BrowserContext, Page } from 'playwright-core'

export interface RelaySession {
  relay: RelayProcess
  /** A new tab in its own browser context, not yet navigated. */
  openTab: () => Promise<Page>
}

/**
 * Runs `fn` with a fresh relay process (free ports, temporary DATA_DIR, extra `env`) and
 * closes every tab it opened, stops the relay and removes its data afterwards.
 */
export async function withRelaySession<T>(
  browser: Browser,
  fn: (session: RelaySession) => Promise<T>,
  env: Record<string, string> = {}
): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mp-bench-'))
  const relay = new RelayProcess(dataDir, await freePort(), await freePort(), env)
  await relay.start()
  const contexts: BrowserContext[] = []
  try {
    return await fn({
      relay,
      openTab: async () => {
        const context = await browser.newContext()
        contexts.push(context)
        return await context.newPage()
      }
    })
  } finally {
    await Promise.all(contexts.map(async c => await c.close()))
    await relay.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}
