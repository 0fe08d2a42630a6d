import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { missingFigures } from '../../bench/smoke-check.ts'
import type { BenchResult } from '../../bench/summary.ts'

/** The last full run's results.json, every late joiner counted as having found the package. */
function fullResult(): BenchResult {
  const result = JSON.parse(readFileSync('bench/results/results.json', 'utf8')) as BenchResult
  result.marketplace.lateJoinerFound = result.marketplace.lateJoiners
  return result
}

describe('the bench smoke fails on a breakdown that came back empty', () => {
  test('a whole run is missing nothing', () => {
    expect(missingFigures(fullResult())).toEqual([])
  })

  test.each<[string, (r: BenchResult) => void, string]>([
    ['no plain page', r => delete r.reference, 'no comparison of the app with the plain libp2p page'],
    [
      'a ratio NaN',
      r => (r.reference!.comparisons[0]!.ratios.fullDirectMesh = Number.NaN),
      'is not a number'
    ],
    ['no phases', r => (r.reference!.comparisons[0]!.phasesMs.plain = {}), 'no start-up phases of plain'],
    ['no span stages', r => delete r.marketplace.publishToFoundStages, 'publishToFoundStages'],
    ['no DHT put', r => delete r.marketplace.dhtPut, 'dhtPut'],
    ["no relay's event loop", r => (r.marketplace.relayEventLoop = {}), 'relayEventLoop'],
    [
      'a late joiner that found nothing',
      r => r.marketplace.lateJoinerFound--,
      'late joiners did not find the package'
    ],
    ['no catalog', r => (r.localSearch = []), 'no catalog measured'],
    ['no search breakdown', r => delete r.localSearch.at(-1)!.searchBreakdown, 'packages: no breakdown']
  ])('%s', (_, damage, expected) => {
    const result = fullResult()
    damage(result)
    const missing = missingFigures(result)
    expect(missing).toHaveLength(1)
    expect(missing[0]).toContain(expected)
  })
})
