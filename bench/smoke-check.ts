/**
 * What a smoke run of `npm run bench` must have produced. Its figures are not judged (a tiny run,
 * often on a busy machine), but summary.md silently leaves out a breakdown that came back empty,
 * so a broken measurement would pass unseen; this names each one that is missing, and the searches
 * that did not find what they looked for.
 */
import type { BenchResult } from './summary.ts'

export function missingFigures(result: BenchResult): string[] {
  const missing: string[] = []
  const want = (present: boolean, what: string): void => {
    if (!present) missing.push(what)
  }
  const { reference, marketplace, localSearch } = result
  const comparisons = reference?.comparisons ?? []
  want(comparisons.length > 0, 'reference: no comparison of the app with the plain libp2p page')
  for (const c of comparisons) {
    want(
      Object.values(c.ratios).every(Number.isFinite),
      `reference, ${c.tabs} tabs: a ratio to the plain page is not a number`
    )
    for (const kind of ['app', 'plain'] as const) {
      want(
        Object.keys(c.phasesMs[kind] ?? {}).length > 0,
        `reference, ${c.tabs} tabs: no start-up phases of ${kind}`
      )
    }
  }
  want(
    marketplace.publishToFoundStages != null,
    'marketplace: publish → found by span (publishToFoundStages)'
  )
  want(marketplace.dhtPut != null, "marketplace: publish()'s DHT put by event (dhtPut)")
  want(marketplace.relayEventLoop?.delayMaxMs != null, "marketplace: the relay's event loop (relayEventLoop)")
  want(
    marketplace.lateJoinerFound === marketplace.lateJoiners,
    `marketplace: ${marketplace.lateJoiners - marketplace.lateJoinerFound} of ${marketplace.lateJoiners} late joiners did not find the package`
  )
  want(localSearch.length > 0, 'local search: no catalog measured')
  for (const s of localSearch) {
    want(s.searchBreakdown != null, `local search, ${s.packages} packages: no breakdown (searchBreakdown)`)
  }
  return missing
}
