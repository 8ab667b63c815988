// Small statistics over plain numbers (pure).

export interface LatencyStats {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN
}

export function latencyStats (values: readonly number[]): LatencyStats {
  const sorted = Float64Array.from(values).sort()
  const list = Array.from(sorted)
  const sum = list.reduce((a, b) => a + b, 0)
  return {
    count: list.length,
    mean: list.length === 0 ? NaN : sum / list.length,
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list.length === 0 ? NaN : list[list.length - 1] ?? NaN
  }
}

/** a / b, or undefined when there is nothing to divide. */
export const ratio = (a: number, b: number): number | undefined => b > 0 ? a / b : undefined

export const median = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 50)
