/**
 * The largest content the relay keeps (`content.maxBytes` of its `/healthz`), when it says so.
 * Only advice for a check made before publishing: a relay that does not answer here is judged
 * (and reported) when the node fetches its runtime config right after.
 */
export async function relayContentLimit(relay: string, signal: AbortSignal): Promise<number | undefined> {
  try {
    const response = await fetch(new URL('/healthz', relay), {
      signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)])
    })
    if (!response.ok) return undefined
    const health = (await response.json()) as { content?: { maxBytes?: unknown } }
    const maxBytes = health.content?.maxBytes
    return typeof maxBytes === 'number' && Number.isFinite(maxBytes) ? maxBytes : undefined
  } catch {
    signal.throwIfAborted()
    return undefined
  }
}
