/**
 * Nearest-rank percentile (`p` in 0..100) of an ascending sample; NaN for none. One definition
 * for the network-health view, the benchmarks and the tests.
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}

/** {@link percentileOfSorted} of a sample in any order. */
export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(
    [...values].sort((a, b) => a - b),
    p
  )
}
