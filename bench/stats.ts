import { percentile } from '../src/core/telemetry/percentile.ts'

export { percentile }

/** Summary statistics of a sample, in the sample's unit. */
export interface Summary {
  n: number
  min: number
  median: number
  p95: number
  max: number
}

/** A seeded pseudo-random generator (mulberry32): the same choices on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function summarize(values: number[]): Summary {
  const round = (v: number): number => Math.round(v * 10) / 10
  return {
    n: values.length,
    min: round(Math.min(...values)),
    median: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    max: round(Math.max(...values))
  }
}
