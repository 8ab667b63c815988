// A provider's recent record, as a score, and the order providers are tried in: by configured
// priority first, then by health within one priority. Pure, apart from the small ring buffer.

export interface HealthSample {
  ok: boolean
  latencyMs: number
}

export interface RollingHealth {
  record: (sample: HealthSample) => void
  samples: () => readonly HealthSample[]
}

export function createRollingHealth (size = 20): RollingHealth {
  const ring: HealthSample[] = []
  let next = 0
  return {
    record (sample) {
      ring[next] = sample
      next = (next + 1) % size
    },
    samples: () => ring
  }
}

/** 1 for a provider with no record yet or a perfect one; lower for failures and slowness. */
export function healthScore (samples: readonly HealthSample[], timeoutMs: number): number {
  if (samples.length === 0) return 1
  const ok = samples.filter(s => s.ok)
  if (ok.length === 0) return 0
  const meanLatency = ok.reduce((sum, s) => sum + s.latencyMs, 0) / ok.length
  // Slowness costs at most half the score: a slow provider that delivers beats one that fails.
  return (ok.length / samples.length) * (1 - 0.5 * Math.min(1, meanLatency / timeoutMs))
}

export interface Ranked {
  name: string
  priority: number
  score: number
}

export function rankProviders<T extends Ranked> (candidates: readonly T[]): T[] {
  return [...candidates].sort((a, b) => a.priority - b.priority || b.score - a.score || (a.name < b.name ? -1 : 1))
}
