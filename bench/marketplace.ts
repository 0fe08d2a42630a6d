import { withRelaySession } from './relay-session.ts'
import { summarize } from './stats.ts'
import type { Summary } from './stats.ts'
import type { Browser, Page } from 'playwright-core'

export interface MarketplaceFigures {
  tabs: number
  publishes: number
  /** publish() call in one tab → the package found by a search in each other tab (wall clock), ms. */
  publishToFoundMs: Summary
  /**
   * The same by who delivered the announcement to the finding tab: the publisher itself, another
   * tab, or the relay (a gossip hop through it), and by how (gossip, sync, peer answer).
   */
  publishToFoundBy: Record<string, Summary>
  /**
   * Where the time of a gossip delivery went, from the spans of the same publishes (one clock:
   * the browser's; per (publish, other tab) pair, ms): `signAndStore` the publisher's `publish`
   * span start → its `announce_package` start (manifest checked, record signed, written to its
   * IndexedDB); `deliver` → the other tab's `receive_package_announcement` start (gossipsub's
   * own signature, the hop, and the receiver's validation: both signatures verified, the catalog's
   * rules); `store` that span (the receiver's IndexedDB write and its `package` event).
   */
  publishToFoundStages?: { signAndStore: Summary; deliver: Summary; store: Summary }
  /**
   * The relay's event loop over the minute that ended with the last publish (its `/healthz`):
   * the longest delay (wall clock, what a DHT request waited) and the longest its own code held it.
   */
  relayEventLoop?: { delayMaxMs?: number; busyMaxMs?: number }
  /**
   * What `publish()` waited for, from its `store_in_dht` span (ms after the put began): the whole
   * put (both keys), the first answer to the put's lookup of the closest DHT servers, the last
   * server's acknowledgement.
   */
  dhtPut?: { put: Summary; firstLookupAnswer: Summary; lastAcknowledged: Summary }
  /** Share of (publish, other tab) pairs found within 10 s. */
  foundRatio: number
  /** Duration of publish() itself (sign, store, DHT put, gossip), ms. */
  publishCallMs: Summary
  /** A tab opened after the publishes: its first search() call, ms, and whether it found the package. */
  lateJoinerSearchMs: Summary
  /** From the late joiner's `searchStream()` call to the first batch that holds the package. */
  lateJoinerFirstResultMs: Summary
  /** Which source that first batch came from (`local`: the catalog sync on connecting had it already). */
  lateJoinerFirstSources: Record<string, number>
  lateJoinerFound: number
  lateJoiners: number
}

/** A span of a bench package as a tab saw it: start and end, and when each kind of event came. */
interface SpanTimes {
  start: number
  end: number
  /** Event name → [first, last], ms after the span's start. */
  events: Record<string, [number, number]>
}

/** When a tab's search first found a package, how it arrived (`PackageEvent`'s source) and from whom. */
interface Seen {
  at: number
  source: string
  from?: string
}

/** Waits until the page's node says so (a function: the app's CSP forbids evaluating strings). */
async function waitFor(page: Page, fn: (arg: number) => boolean, arg = 0, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction(fn, arg, { timeout: timeoutMs }).catch(async (err: unknown) => {
    // what the tab thought of the network when the wait ran out
    const state = await page
      .evaluate(() => {
        const node = window.p2pMarketplace
        return node == null
          ? 'no node'
          : JSON.stringify({
              status: node.status(),
              dials: node.dialStats,
              connections: node.libp2p.getConnections().map(c => `${c.remoteAddr.toString()} ${c.status}`),
              addresses: node.libp2p.getMultiaddrs().map(String)
            })
      })
      .catch((evalErr: unknown) => `unreadable: ${String(evalErr)}`)
    throw new Error(`${String(err)}\ntab state: ${state}`)
  })
}

/**
 * `tabs` tabs on a fresh relay; each publish happens in one tab while every
 * other tab records when a local search first returns the package (it arrives
 * by gossip). Then `lateJoiners` new tabs, each once online, search for the first package with
 * `searchStream()`: when its first result arrives, from where, and when the search ends.
 */
export async function benchMarketplace(
  browser: Browser,
  tabs: number,
  publishes: number,
  lateJoiners: number
): Promise<MarketplaceFigures> {
  const found: number[] = []
  const stages = { signAndStore: [] as number[], deliver: [] as number[], store: [] as number[] }
  const dht = { put: [] as number[], firstLookupAnswer: [] as number[], lastAcknowledged: [] as number[] }
  const foundBy: Record<string, number[]> = {}
  const calls: number[] = []
  const late: number[] = []
  const firstResult: number[] = []
  const firstSources: Record<string, number> = {}
  let lateFound = 0
  let pairs = 0
  let relayEventLoop: MarketplaceFigures['relayEventLoop']
  await withRelaySession(browser, async ({ relay, openTab }) => {
    const pages = await Promise.all(Array.from({ length: tabs }, openTab))
    await Promise.all(pages.map(async p => await p.goto(relay.url)))
    await Promise.all(
      pages.map(
        async p => await waitFor(p, peers => window.p2pMarketplace?.status().directPeers === peers, tabs - 1)
      )
    )
    const peerIds = await Promise.all(
      pages.map(async p => await p.evaluate(() => window.p2pMarketplace!.peerId))
    )
    // each tab notes when a local search first finds a package it is waiting for
    await Promise.all(
      pages.map(
        async p =>
          await p.evaluate(() => {
            const seen: Record<string, Seen> = {}
            ;(window as unknown as { benchSeen: typeof seen }).benchSeen = seen
            // the spans of each package (`package_id`) on the browser's clock, with when each
            // kind of event first and last happened (ms after the span's start)
            type HrTime = [number, number]
            const spans: Record<string, Record<string, SpanTimes>> = {}
            ;(window as unknown as { benchSpans: typeof spans }).benchSpans = spans
            const ms = (t: HrTime): number => t[0] * 1000 + t[1] / 1e6
            window.p2pMarketplace!.addEventListener('span', evt => {
              const span = (
                evt as CustomEvent<{
                  name: string
                  startTime: HrTime
                  endTime: HrTime
                  attributes: Record<string, unknown>
                  events: Array<{ name: string; time: HrTime }>
                }>
              ).detail
              const id = span.attributes.package_id
              if (typeof id !== 'string' || !id.startsWith('bench')) return
              const start = ms(span.startTime)
              const events: SpanTimes['events'] = {}
              for (const e of span.events) {
                const at = ms(e.time) - start
                events[e.name] = [events[e.name]?.[0] ?? at, at]
              }
              ;(spans[id] ??= {})[span.name] ??= { start, end: ms(span.endTime), events }
            })
            window.p2pMarketplace!.addEventListener('package', evt => {
              const { record, source, from } = evt.detail
              if (
                window
                  .p2pMarketplace!.catalog.search({ text: record.title })
                  .records.some(r => r.id === record.id)
              ) {
                seen[record.id] ??= { at: Date.now(), source, ...(from != null ? { from } : {}) }
              }
            })
          })
      )
    )
    for (let i = 0; i < publishes; i++) {
      const publisher = pages[i % tabs]!
      const id = `bench${i % tabs}/pkg-${i}`
      const { startedAt, callMs } = await publisher.evaluate(async id => {
        const startedAt = Date.now()
        const t = performance.now()
        await window.p2pMarketplace!.publish({
          id,
          version: '1.0.0',
          title: `Bench package ${id}`,
          description: 'benchmark',
          license: 'MIT'
        })
        return { startedAt, callMs: performance.now() - t }
      }, id)
      calls.push(callMs)
      for (const other of pages.filter(p => p !== publisher)) {
        pairs++
        const seen = await other
          .waitForFunction(
            id => (window as unknown as { benchSeen: Record<string, Seen> }).benchSeen[id],
            id,
            { timeout: 10_000 }
          )
          .then(async handle => (await handle.jsonValue()) as Seen)
          .catch(() => undefined)
        if (seen == null) continue
        found.push(seen.at - startedAt)
        const by =
          seen.from == null
            ? 'nobody named'
            : seen.from === peerIds[i % tabs]
              ? 'publisher'
              : peerIds.includes(seen.from)
                ? 'another tab'
                : 'relay'
        ;(foundBy[`${seen.source} from ${by}`] ??= []).push(seen.at - startedAt)
      }
      // the stages of this publish, from the publisher's spans and each other tab's
      const spansOf = async (p: Page): Promise<Record<string, SpanTimes>> =>
        await p.evaluate(
          id =>
            (window as unknown as { benchSpans: Record<string, Record<string, SpanTimes>> }).benchSpans[id] ??
            {},
          id
        )
      const mine = await spansOf(publisher)
      const put = mine.store_in_dht
      if (put != null) {
        dht.put.push(put.end - put.start)
        if (put.events.lookup_answer != null) dht.firstLookupAnswer.push(put.events.lookup_answer[0])
        if (put.events.acknowledged != null) dht.lastAcknowledged.push(put.events.acknowledged[1])
      }
      const published = mine.publish?.start
      const announced = mine.announce_package?.start
      if (published == null || announced == null) continue
      stages.signAndStore.push(announced - published)
      for (const other of pages.filter(p => p !== publisher)) {
        const received = (await spansOf(other)).receive_package_announcement
        if (received == null) continue
        stages.deliver.push(received.start - announced)
        stages.store.push(received.end - received.start)
      }
    }
    const health = await relay.health()
    relayEventLoop = { delayMaxMs: health.eventLoopDelayMaxMs, busyMaxMs: health.eventLoopBusyMaxMs }
    for (let j = 0; j < lateJoiners; j++) {
      const page = await openTab()
      await page.goto(relay.url)
      await waitFor(page, () => window.p2pMarketplace?.status().state === 'online')
      // the search as the app runs it: a stream of batches, the first answer shown as it arrives
      const { ms, first, batches, status } = await page.evaluate(async () => {
        const t = performance.now()
        let first: { ms: number; source: string } | undefined
        // every batch, to say what the search heard when it did not find the package
        const batches: string[] = []
        for await (const batch of window.p2pMarketplace!.searchStream({ text: 'bench0/pkg-0' })) {
          const has = batch.packages.some(p => p.id === 'bench0/pkg-0')
          batches.push(
            `${Math.round(performance.now() - t)} ms ${batch.source}${batch.from != null ? ` ${batch.from.slice(-6)}` : ''}: ${batch.packages.length}${has ? ' (has it)' : ''}`
          )
          if (first == null && has) first = { ms: performance.now() - t, source: batch.source }
        }
        return {
          ms: performance.now() - t,
          first,
          batches,
          status: JSON.stringify(window.p2pMarketplace!.status())
        }
      })
      late.push(ms)
      if (first != null) {
        lateFound++
        firstResult.push(first.ms)
        firstSources[first.source] = (firstSources[first.source] ?? 0) + 1
      }
      console.log(
        `  late joiner ${j + 1}/${lateJoiners}: search ${Math.round(ms)} ms, ${first != null ? `first result after ${Math.round(first.ms)} ms (${first.source})` : `NOT found; batches: ${batches.join('; ') || 'none'}; status after: ${status}`}`
      )
    }
  })
  return {
    tabs,
    publishes,
    publishToFoundMs: summarize(found),
    publishToFoundBy: Object.fromEntries(Object.entries(foundBy).map(([by, ms]) => [by, summarize(ms)])),
    ...(dht.put.length > 0 ? { dhtPut: summarizeEach(dht) } : {}),
    ...(stages.deliver.length > 0 ? { publishToFoundStages: summarizeEach(stages) } : {}),
    foundRatio: pairs === 0 ? Number.NaN : Math.round((found.length / pairs) * 1000) / 1000,
    publishCallMs: summarize(calls),
    relayEventLoop,
    lateJoinerSearchMs: summarize(late),
    lateJoinerFirstResultMs: summarize(firstResult),
    lateJoinerFirstSources: firstSources,
    lateJoinerFound: lateFound,
    lateJoiners
  }
}

/** Each list of figures summarized, under the same names. */
function summarizeEach<K extends string>(lists: Record<K, number[]>): Record<K, Summary> {
  return Object.fromEntries(Object.entries<number[]>(lists).map(([k, v]) => [k, summarize(v)])) as Record<
    K,
    Summary
  >
}
