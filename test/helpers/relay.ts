import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRelay } from '../../relay/relay.ts'
export { freePort } from './relay-process.ts'
import type { RelayConfig } from '../../relay/config.ts'
import type { Relay, RelayHooks } from '../../relay/relay.ts'

/** A relay on free ports (0 = chosen by the OS) over a temporary DATA_DIR. */
export async function startTestRelay(
  overrides: Partial<RelayConfig> = {},
  hooks: RelayHooks = {}
): Promise<{ relay: Relay; config: RelayConfig; cleanup: () => Promise<void> }> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'mp-relay-')))
  const config: RelayConfig = {
    port: 0,
    relayPort: 0,
    host: '127.0.0.1',
    dataDir,
    otlpHeaders: {},
    serviceName: 'p2p-marketplace-relay-test',
    staticDir: join(dataDir, 'no-static'),
    embedOrigins: [],
    content: { quota: 1024 ** 3, maxBytes: 100 * 1024 ** 2, perPublisher: 1024 ** 3 },
    ...overrides
  }
  const relay = await createRelay(config, undefined, hooks)
  return {
    relay,
    config,
    cleanup: async () => {
      await relay.stop().catch(() => {})
      if (overrides.dataDir == null) await rm(dataDir, { recursive: true, force: true })
    }
  }
}

/** Polls `check` until it returns true, or fails with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
