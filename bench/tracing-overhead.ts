import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMarketplaceNode } from '../src/core/index.ts'
import { createTracedMarketplaceNode } from '../src/otel/traced-node.ts'
import { startTestRelay, waitUntil } from '../test/helpers/relay.ts'
import { summarize } from './stats.ts'
import type { Summary } from './stats.ts'
import type { MarketplaceNode } from '../src/core/index.ts'

export interface TracingOverheadFigures {
  operations: number
  publishOffMs: Summary
  publishOnMs: Summary
  searchOffMs: Summary
  searchOnMs: Summary
  /** (median on − median off) / median off, in %. */
  publishOverheadPct: number
  searchOverheadPct: number
}

/**
 * Publish and search latency with tracing off and on (spans exported over
 * OTLP/HTTP to the relay's embedded collector), on the same relay, three Node
 * peers per mode, operations interleaved so that machine noise hits both.
 */
export async function benchTracingOverhead(operations: number): Promise<TracingOverheadFigures> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mp-bench-tracing-'))
  const { relay, cleanup } = await startTestRelay({ dataDir })
  const make = async (tracing: boolean): Promise<MarketplaceNode[]> =>
    await Promise.all(
      [0, 1, 2].map(async () =>
        tracing
          ? await createTracedMarketplaceNode({ configUrl: relay.httpUrl })
          : await createMarketplaceNode({ configUrl: relay.httpUrl })
      )
    )
  const off = await make(false)
  const on = await make(true)
  const all = [...off, ...on]
  const times = {
    publishOff: [] as number[],
    publishOn: [] as number[],
    searchOff: [] as number[],
    searchOn: [] as number[]
  }
  try {
    await Promise.all(all.map(async n => await n.waitFor('online')))
    await waitUntil('direct mesh', () => all.every(n => n.status().directPeers === all.length - 1), 60_000)
    for (let i = 0; i < operations; i++) {
      for (const [mode, nodes] of [
        ['Off', off],
        ['On', on]
      ] as const) {
        const publisher = nodes[i % nodes.length]!
        let t = performance.now()
        await publisher.publish({
          id: `tr${mode.toLowerCase()}${i % 3}/pkg-${i}`,
          version: '1.0.0',
          title: `Overhead ${mode} ${i}`,
          description: 'tracing overhead',
          license: 'MIT'
        })
        times[`publish${mode}`].push(performance.now() - t)
        const searcher = nodes[(i + 1) % nodes.length]!
        t = performance.now()
        await searcher.search({ text: `overhead ${i}` })
        times[`search${mode}`].push(performance.now() - t)
      }
    }
  } finally {
    await Promise.all(all.map(async n => await n.stop()))
    await cleanup()
    await rm(dataDir, { recursive: true, force: true })
  }
  const pct = (on: Summary, off: Summary): number =>
    Math.round(((on.median - off.median) / off.median) * 1000) / 10
  const publishOffMs = summarize(times.publishOff)
  const publishOnMs = summarize(times.publishOn)
  const searchOffMs = summarize(times.searchOff)
  const searchOnMs = summarize(times.searchOn)
  return {
    operations,
    publishOffMs,
    publishOnMs,
    searchOffMs,
    searchOnMs,
    publishOverheadPct: pct(publishOnMs, publishOffMs),
    searchOverheadPct: pct(searchOnMs, searchOffMs)
  }
}
