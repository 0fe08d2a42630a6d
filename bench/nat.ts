/**
 * NAT traversal in the internet in a box (test/helpers/internet-box.ts): how long a pair of tabs
 * behind two cone NATs takes to go direct over reflexive (STUN) candidates, and a pair with one
 * tab behind the symmetric NAT through TURN; and the round-trip time of each path, as the ICE
 * agent measures it on the selected pair (STUN consent checks). The box's links add no delay, so
 * what TURN adds here is its own relaying, not distance. Needs root (network namespaces).
 */
import { BoxDeployment, RELAY_ORIGIN } from '../test/helpers/box-deployment.ts'
import { InternetBox, boxUnavailable, removeStaleBoxes } from '../test/helpers/internet-box.ts'
import { summarize } from './stats.ts'
import type { Lan } from '../test/helpers/internet-box.ts'
import type { Summary } from './stats.ts'
import type { Browser, Page } from 'playwright-core'

export interface NatFigures {
  runs: number
  /** Both tabs online → direct over reflexive candidates (A↔B, two cone NATs), ms. */
  srflxDirectMs: Summary
  /** Both tabs online → direct through TURN (A↔C, C behind the symmetric NAT), ms. */
  turnDirectMs: Summary
  /** Round-trip time of the selected pair, ms. */
  srflxRttMs: Summary
  turnRttMs: Summary
  /** Median TURN RTT minus median reflexive RTT, ms. */
  turnAddedRttMs: number
  /** Pairs that were not direct on the expected path within the limit. */
  failures: number
}

export type NatResult = NatFigures | { skipped: string }

const LIMIT_MS = 120_000

interface PeerView {
  path?: string
  ice?: { rttMs?: number }
}

async function peerView(page: Page, peerId: string): Promise<PeerView | undefined> {
  return await page.evaluate(
    id => window.p2pMarketplace?.peers().find(p => p.peerId === id) as PeerView | undefined,
    peerId
  )
}

/** Polls until `page` is direct to `peerId` on `path` and its RTT is known; ms since `since`. */
async function directOn(
  page: Page,
  peerId: string,
  path: string,
  since: number
): Promise<{ ms: number; rttMs?: number } | undefined> {
  let ms: number | undefined
  while (Date.now() - since < LIMIT_MS) {
    const view = await peerView(page, peerId)
    if (view?.path === path) {
      ms ??= Date.now() - since
      // the pair's RTT appears after its first consent checks (a few seconds)
      if (view.ice?.rttMs != null) return { ms, rttMs: view.ice.rttMs }
      if (Date.now() - since - ms > 15_000) return { ms }
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return undefined
}

export async function benchNat(runs: number): Promise<NatResult> {
  const unavailable = await boxUnavailable()
  if (unavailable != null) return { skipped: unavailable }
  await removeStaleBoxes()
  const box = await InternetBox.create()
  const browsers = new Map<Lan, Browser>()
  const samples = {
    srflxMs: [] as number[],
    turnMs: [] as number[],
    srflxRtt: [] as number[],
    turnRtt: [] as number[]
  }
  let failures = 0
  try {
    const deployment = await BoxDeployment.start(box)
    for (const lan of ['A', 'B', 'C'] as const) browsers.set(lan, await deployment.browserIn(lan))
    for (let run = 1; run <= runs; run++) {
      const pages = await Promise.all(
        (['A', 'B', 'C'] as const).map(async lan => {
          const context = await browsers.get(lan)!.newContext()
          const page = await context.newPage()
          await page.goto(RELAY_ORIGIN)
          return page
        })
      )
      const [a, b, c] = pages as [Page, Page, Page]
      await Promise.all(
        pages.map(
          async p =>
            await p.waitForFunction(() => window.p2pMarketplace?.status().state === 'online', undefined, {
              timeout: 90_000
            })
        )
      )
      const since = Date.now()
      const [idB, idC] = await Promise.all(
        [b, c].map(async p => await p.evaluate(() => window.p2pMarketplace!.peerId))
      )
      const [srflx, turn] = await Promise.all([
        directOn(a, idB!, 'srflx', since),
        directOn(a, idC!, 'relay', since)
      ])
      if (srflx == null) failures++
      else {
        samples.srflxMs.push(srflx.ms)
        if (srflx.rttMs != null) samples.srflxRtt.push(srflx.rttMs)
      }
      if (turn == null) failures++
      else {
        samples.turnMs.push(turn.ms)
        if (turn.rttMs != null) samples.turnRtt.push(turn.rttMs)
      }
      console.log(
        `  run ${run}/${runs}: reflexive direct ${srflx?.ms ?? 'FAILED'} ms (RTT ${srflx?.rttMs ?? '?'} ms), TURN direct ${turn?.ms ?? 'FAILED'} ms (RTT ${turn?.rttMs ?? '?'} ms)`
      )
      await Promise.all(pages.map(async p => await p.context().close()))
    }
  } finally {
    await Promise.all([...browsers.values()].map(async b => await b.close().catch(() => {})))
    await box.destroy()
  }
  const srflxRttMs = summarize(samples.srflxRtt)
  const turnRttMs = summarize(samples.turnRtt)
  return {
    runs,
    srflxDirectMs: summarize(samples.srflxMs),
    turnDirectMs: summarize(samples.turnMs),
    srflxRttMs,
    turnRttMs,
    turnAddedRttMs: Math.round((turnRttMs.median - srflxRttMs.median) * 10) / 10,
    failures
  }
}
