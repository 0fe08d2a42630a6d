import { fetchRuntimeConfig } from '../core/config.ts'
import { PACKAGES_TOPIC } from '../core/constants.ts'
import { describeError } from '../core/errors.ts'
import { untilEvent } from '../core/marketplace/node-state.ts'
import { createTracedMarketplaceNode } from '../otel/traced-node.ts'
import { NetworkError } from './errors.ts'
import type { RuntimeConfig } from '../core/config.ts'
import type { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'

/** The largest content a package may have (PROTOCOL.md §6a): the client takes any package's. */
export const MAX_CONTENT_BYTES = 1024 ** 3

/** How long stopping the node may take before the client exits anyway (spans are flushed in it). */
const STOP_TIMEOUT_MS = 5_000

export interface StartNodeOptions {
  /** The relay's HTTP origin: its `/config.json` names its multiaddrs, as it does for the web app. */
  relay: string
  timeoutMs: number
  /** Aborted by Ctrl-C. */
  signal: AbortSignal
  version: string
  /** The publisher key; without one the node has a key of its own for this run only. */
  privateKey?: PrivateKey
  /** Where content blocks go (in memory by default). */
  blockstore?: Blockstore
  /** The node, as soon as it exists (before it is online): it is stopped whatever happens next. */
  onNode: (node: MarketplaceNode) => void
}

/**
 * A marketplace node for one command, as a tab starts one: the relay's runtime config first
 * (its multiaddrs, the traces endpoint), then the node with its spans going to the relay's
 * collector; resolves once the relay holds a reservation for it (`online`), within `timeoutMs`.
 */
export async function startNode(options: StartNodeOptions): Promise<MarketplaceNode> {
  const { relay, timeoutMs, signal } = options
  const config = await runtimeConfig(relay, timeoutMs, signal)
  const node = await createTracedMarketplaceNode(
    {
      config,
      ...(options.privateKey != null ? { privateKey: options.privateKey } : {}),
      content: {
        maxBytes: MAX_CONTENT_BYTES,
        stallTimeoutMs: timeoutMs,
        ...(options.blockstore != null ? { blockstore: options.blockstore } : {})
      }
    },
    { serviceName: 'p2p-marketplace-cli', serviceVersion: options.version }
  )
  options.onNode(node)
  try {
    await node.waitFor('online', { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) })
  } catch (err) {
    if (signal.aborted) throw signal.reason
    throw new NetworkError(
      `no connection to the relay at ${relay} after ${seconds(timeoutMs)} (${node.status().progress})`,
      { cause: err }
    )
  }
  return node
}

/**
 * Stops `node`, giving up waiting after a few seconds (the process ends anyway). It never throws:
 * what failed (most often the last spans, which the relay's collector did not take) is reported
 * to `warn`, and the command's result stands.
 */
export async function stopNode(node: MarketplaceNode, warn: (message: string) => void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    node
      .stop()
      .catch((err: unknown) =>
        warn(
          (err as Error).name === 'OTLPExporterError'
            ? `the relay's collector did not take this command's spans (${describeError(err)})`
            : `stopping the node failed: ${describeError(err)}`
        )
      ),
    new Promise<void>(resolve => {
      timer = setTimeout(() => {
        warn(`the node did not stop within ${seconds(STOP_TIMEOUT_MS)}; exiting anyway`)
        resolve()
      }, STOP_TIMEOUT_MS)
    })
  ])
  clearTimeout(timer)
}

/**
 * Resolves once the relay takes our gossip on the packages topic, so that a record published
 * now is announced to it (and its content kept by it), within `timeoutMs`.
 */
export async function waitForPackagesTopic(
  node: MarketplaceNode,
  timeoutMs: number,
  signal: AbortSignal
): Promise<void> {
  const pubsub = node.libp2p.services.pubsub
  const subscribed = (): boolean => pubsub.getSubscribers(PACKAGES_TOPIC).length > 0
  if (subscribed()) return
  const timeout = AbortSignal.timeout(timeoutMs)
  // gossipsub says when a peer's subscriptions change
  await untilEvent(pubsub, 'subscription-change', subscribed, {
    signal: AbortSignal.any([signal, timeout])
  }).catch((err: unknown) => {
    if (timeout.aborted && !signal.aborted)
      throw new NetworkError(
        `the relay did not subscribe to package announcements within ${seconds(timeoutMs)}`
      )
    throw err
  })
}

/** Polls `check` every 100 ms until it holds; throws `NetworkError(what)` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean,
  timeoutMs: number,
  signal: AbortSignal,
  what: string
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    signal.throwIfAborted()
    if (Date.now() > deadline) throw new NetworkError(what)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** The relay's runtime config, or a `NetworkError` saying why it could not be had. */
async function runtimeConfig(relay: string, timeoutMs: number, signal: AbortSignal): Promise<RuntimeConfig> {
  const timeout = AbortSignal.timeout(timeoutMs)
  try {
    return await fetchRuntimeConfig(relay, { signal: AbortSignal.any([signal, timeout]) })
  } catch (err) {
    if (signal.aborted) throw signal.reason
    if (timeout.aborted)
      throw new NetworkError(`the relay at ${relay} did not answer within ${seconds(timeoutMs)}`)
    // the innermost cause says what happened (connection refused, name not found, HTTP 404)
    let cause: unknown = err
    while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause
    const reason = cause instanceof Error && cause !== err ? cause.message : (err as Error).message
    throw new NetworkError(`the relay at ${relay} cannot be used: ${reason}`, { cause: err })
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`
}
