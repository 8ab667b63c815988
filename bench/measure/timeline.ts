// Per-second view of a run (pure): what the charts draw and what recovery times are read from.
import { isAttackStep, type Outcome, type TrafficClass } from './classify.js'
import { type ResponseRecord } from './recorder.js'
import { percentile } from './stats.js'

export interface TimelinePoint {
  /** Second since measuring started. */
  s: number
  /** Answers per class in this second (idle polls excluded). */
  rps: Partial<Record<TrafficClass, number>>
  honestP50: number | undefined
  honestP99: number | undefined
  /** Share of honest answers that moved a login forward (success or progress); undefined without any. */
  honestGood: number | undefined
  /** Share of attack requests answered by a limit or rule. */
  attackBlocked: number | undefined
  /** Problem codes (and transport failures) answered in this second, all classes. */
  codes: Record<string, number>
}

const GOOD: ReadonlySet<Outcome> = new Set(['success', 'progress'])

export function buildTimeline (responses: readonly ResponseRecord[], durationS: number): TimelinePoint[] {
  // Whole seconds only: a last partial second would chart as a drop in throughput.
  const seconds = Math.max(1, Math.floor(durationS))
  const buckets = Array.from({ length: seconds }, () => ({ rps: {} as Partial<Record<TrafficClass, number>>, honest: [] as number[], good: 0, attack: 0, blocked: 0, codes: {} as Record<string, number> }))
  for (const r of responses) {
    if (r.step === 'idle') continue
    const b = buckets[Math.max(0, Math.floor(r.t / 1000))]
    if (b === undefined) continue
    b.rps[r.cls] = (b.rps[r.cls] ?? 0) + 1
    if (r.cls === 'honest') {
      b.honest.push(r.latencyMs)
      if (GOOD.has(r.outcome)) b.good++
    } else if (isAttackStep(r.cls, r.step)) {
      b.attack++
      if (r.outcome === 'blocked') b.blocked++
    }
    if (r.outcome !== 'success' && r.outcome !== 'progress') b.codes[r.code || String(r.status)] = (b.codes[r.code || String(r.status)] ?? 0) + 1
  }
  return buckets.map((b, s) => {
    const sorted = b.honest.sort((x, y) => x - y)
    return {
      s,
      rps: b.rps,
      honestP50: sorted.length === 0 ? undefined : percentile(sorted, 50),
      honestP99: sorted.length === 0 ? undefined : percentile(sorted, 99),
      honestGood: sorted.length === 0 ? undefined : b.good / sorted.length,
      attackBlocked: b.attack === 0 ? undefined : b.blocked / b.attack,
      codes: b.codes
    }
  })
}

export interface FaultWindow {
  label: string
  /** ms on the recorder's clock. */
  start: number
  end: number
}

export interface Recovery {
  label: string
  /** Honest good share before the fault. */
  baseline: number
  /** Lowest honest good share from the fault's start until recovery. */
  worst: number | undefined
  /** Seconds from the fault's end until honest users got through as before; null: not within the run. */
  seconds: number | null
}

/**
 * Recovered = the first second at or after the fault's end from which the honest good share is
 * back to `threshold` of its pre-fault baseline for `hold` consecutive seconds with traffic.
 */
export function recoveryAfter (timeline: readonly TimelinePoint[], w: FaultWindow, threshold = 0.95, hold = 2): Recovery {
  const before = timeline.filter(p => p.s >= 1 && (p.s + 1) * 1000 <= w.start && p.honestGood !== undefined).map(p => p.honestGood ?? 0)
  const baseline = before.length === 0 ? 1 : before.reduce((a, b) => a + b, 0) / before.length
  const target = threshold * baseline
  let worst: number | undefined
  const after = timeline.filter(p => p.honestGood !== undefined && p.s >= Math.floor(w.start / 1000))
  for (let i = 0; i < after.length; i++) {
    const p = after[i]
    if (p === undefined) continue
    const good = p.honestGood ?? 0
    if (p.s * 1000 < w.end || good < target) { worst = Math.min(worst ?? good, good); continue }
    const held = after.slice(i, i + hold)
    const isLast = i + held.length >= after.length
    if (held.every(h => (h.honestGood ?? 0) >= target) && (held.length === hold || isLast)) {
      return { label: w.label, baseline, worst, seconds: Math.max(0, (p.s * 1000 - w.end) / 1000) }
    }
    worst = Math.min(worst ?? good, good)
  }
  return { label: w.label, baseline, worst, seconds: null }
}
