import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base, expect } from '@playwright/test'
import { OtlpReceiver } from '../test/helpers/otlp-receiver.ts'
import { RelayProcess, freePort } from '../test/helpers/relay-process.ts'
import { DEBUG, PeerPage } from './peer-page.ts'
import type { Browser, BrowserContext, TestInfo } from '@playwright/test'

export { PeerPage, submitPublishForm, waitFullMesh } from './peer-page.ts'
export type { PageProblem, PublishFormFields } from './peer-page.ts'

/** How {@link Fixtures.peer} opens a tab. */
export interface PeerOptions {
  /** The relay whose app the tab opens. @default the worker's `relay` */
  relay?: RelayProcess
  /** URL parameters, e.g. `{ otlp: collector.tracesUrl }` to export straight to another collector. */
  params?: Record<string, string>
  /** Runs on the tab's fresh browser context before the page opens (init scripts, routes). */
  setup?: (context: BrowserContext) => Promise<void>
}

/** Opens a new tab in a fresh browser context (on the worker's relay unless told otherwise). */
export type PeerFactory = (options?: PeerOptions) => Promise<PeerPage>

interface Fixtures {
  /** Opens a new tab in a fresh browser context (on the worker's relay unless told otherwise). */
  peer: PeerFactory
  /**
   * Starts a relay of this test's own (free ports, temporary DATA_DIR, extra
   * environment), which the test may kill and restart (`restart()`); it is
   * stopped and its DATA_DIR removed when the test ends, after its tabs closed.
   */
  newRelay: (env?: Record<string, string>) => Promise<RelayProcess>
  /**
   * A plain OTLP/HTTP receiver on a free port, started, and stopped when the
   * test ends: a collector the test can take down and bring back.
   */
  collector: OtlpReceiver
}

interface WorkerFixtures {
  /** One relay shared by the worker's tests, which must not kill it. */
  relay: RelayProcess
}

/** Attaches `body` as a file kept in the test's output folder (logs are read after the run, with other tools). */
async function attachFile(testInfo: TestInfo, name: string, body: string): Promise<void> {
  const path = testInfo.outputPath(name)
  await writeFile(path, body)
  await testInfo.attach(name, { path })
}

async function launchRelay(env: Record<string, string> = {}): Promise<RelayProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mp-e2e-relay-'))
  // `E2E_RELAY_DEBUG=<namespaces>`: libp2p's debug logs of the relay, in its output
  const debug: Record<string, string> =
    process.env.E2E_RELAY_DEBUG != null ? { DEBUG: process.env.E2E_RELAY_DEBUG } : {}
  const relay = new RelayProcess(dataDir, await freePort(), await freePort(), { ...debug, ...env })
  try {
    await relay.start()
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }
  return relay
}

async function disposeRelay(relay: RelayProcess): Promise<void> {
  await relay.stop()
  await rm(relay.dataDir, { recursive: true, force: true })
}

export const test = base.extend<Fixtures, WorkerFixtures>({
  relay: [
    async ({}, use) => {
      const relay = await launchRelay()
      await use(relay)
      await disposeRelay(relay)
    },
    { scope: 'worker' }
  ],
  newRelay: async ({}, use, testInfo) => {
    const relays: RelayProcess[] = []
    await use(async env => {
      const relay = await launchRelay(env)
      relays.push(relay)
      return relay
    })
    if (testInfo.status !== testInfo.expectedStatus || process.env.E2E_RELAY_DEBUG != null) {
      for (const [i, relay] of relays.entries()) {
        await attachFile(testInfo, `relay-${i}-output.txt`, relay.output)
      }
    }
    await Promise.all(relays.map(disposeRelay))
  },
  collector: async ({}, use) => {
    const receiver = new OtlpReceiver()
    await receiver.start()
    await use(receiver)
    await receiver.stop()
  },
  // depends on newRelay so that a test's own relays outlive its tabs (fixtures tear down in reverse)
  peer: async (
    { browser, relay, newRelay: _ }: { browser: Browser; relay: RelayProcess; newRelay: unknown },
    use,
    testInfo
  ) => {
    const contexts: BrowserContext[] = []
    const peers: PeerPage[] = []
    await use(async (options = {}) => {
      const context = await browser.newContext()
      contexts.push(context)
      if (DEBUG != null) await context.addInitScript(debug => localStorage.setItem('debug', debug), DEBUG)
      await options.setup?.(context)
      // a tab opened with ?otlp= stands for a person who allowed that collector (the app asks first)
      const otlp = options.params?.otlp
      if (otlp != null)
        await context.addInitScript(url => {
          try {
            localStorage.setItem('p2p-marketplace:otlp-allowed', JSON.stringify([new URL(url).origin]))
          } catch {
            // about:blank has no storage of its own; the app's page has
          }
        }, otlp)
      const peer = new PeerPage(context, await context.newPage())
      peers.push(peer)
      const url = new URL((options.relay ?? relay).url)
      for (const [key, value] of Object.entries(options.params ?? {})) url.searchParams.set(key, value)
      await peer.open(url.href)
      return peer
    })
    const failed = testInfo.status !== testInfo.expectedStatus
    if (failed || DEBUG != null) {
      // what every tab thought of the network when the test failed
      const states = await Promise.all(
        peers.map(async p => await p.diagnostics().catch((err: unknown) => ({ closed: String(err) })))
      )
      const text = JSON.stringify(states, null, 2)
      if (failed) console.log(`tab diagnostics:\n${text}`)
      await attachFile(testInfo, 'tab-diagnostics.json', text)
      for (const [i, p] of peers.entries()) {
        if (p.consoleLog.length > 0) {
          await attachFile(testInfo, `tab-${i}-console.txt`, p.consoleLog.join('\n'))
        }
      }
    }
    await Promise.all(contexts.map(async c => await c.close().catch(() => {})))
  }
})

export { expect, OtlpReceiver, RelayProcess }
