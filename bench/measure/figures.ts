// The figures every report gives (issue 7, item 5), computed from the recorded rows (pure).
import { isAttackStep, needsRetryAfter, type Outcome, OUTCOMES, passedGuard, TRAFFIC_CLASSES, type TrafficClass } from './classify.js'
import { type FlowRecord, type ResponseRecord } from './recorder.js'
import { type LatencyStats, latencyStats, ratio } from './stats.js'

export interface ClassFigures {
  cls: TrafficClass
  requests: number
  rps: number
  latency: LatencyStats
  outcomes: Record<Outcome, number>
  codes: Record<string, number>
  /** Attack classes: their attack requests (logins, or sends for SMS pumping). */
  attack?: { attempts: number, passed: number, blocked: number, passThrough: number | undefined, blockedRate: number | undefined }
}

export interface HonestFigures {
  flows: number
  succeeded: number
  successRate: number | undefined
  /** Honest login flows ended by a limit or rule: users the defences turned away. */
  falsePositives: number
  falsePositiveRate: number | undefined
  /** Time to sign in: the gateway's answers to all steps of a successful flow, OTP included. */
  signIn: LatencyStats
  failuresByCode: Record<string, number>
}

export interface Figures {
  durationS: number
  classes: ClassFigures[]
  honest: HonestFigures | undefined
  /** All attack classes together. */
  attack: { attempts: number, passThrough: number | undefined, blockedRate: number | undefined } | undefined
  /** Answers with a 5xx status other than 503: the gateway's bugs. */
  serverErrors: number
  /** 429 and 503 answers without a Retry-After header, and their codes. */
  missingRetryAfter: number
  missingRetryAfterByCode: Record<string, number>
  /** Requests that got no answer at all, per class. */
  transport: Partial<Record<TrafficClass, number>>
}

function countBy (keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const k of keys) out[k] = (out[k] ?? 0) + 1
  return out
}

const zeroOutcomes = (): Record<Outcome, number> => Object.fromEntries(OUTCOMES.map(o => [o, 0])) as Record<Outcome, number>

export function classFigures (cls: TrafficClass, rows: readonly ResponseRecord[], durationS: number): ClassFigures {
  const outcomes = zeroOutcomes()
  const codes: Record<string, number> = {}
  let attempts = 0
  let passed = 0
  let blocked = 0
  for (const r of rows) {
    outcomes[r.outcome]++
    const code = r.code === '' ? String(r.status) : r.code
    codes[code] = (codes[code] ?? 0) + 1
    if (!isAttackStep(cls, r.step)) continue
    attempts++
    if (passedGuard(r.outcome)) passed++
    else if (r.outcome === 'blocked') blocked++
  }
  const figures: ClassFigures = { cls, requests: rows.length, rps: durationS > 0 ? rows.length / durationS : 0, latency: latencyStats(rows.map(r => r.latencyMs)), outcomes, codes }
  if (cls !== 'honest') figures.attack = { attempts, passed, blocked, passThrough: ratio(passed, attempts), blockedRate: ratio(blocked, attempts) }
  return figures
}

export function honestFigures (flows: readonly FlowRecord[]): HonestFigures | undefined {
  const honest = flows.filter(f => f.cls === 'honest')
  if (honest.length === 0) return undefined
  const ok = honest.filter(f => f.ok)
  const falsePositives = honest.filter(f => f.blocked).length
  const failuresByCode: Record<string, number> = {}
  for (const f of honest) if (!f.ok) failuresByCode[f.code] = (failuresByCode[f.code] ?? 0) + 1
  return {
    flows: honest.length,
    succeeded: ok.length,
    successRate: ratio(ok.length, honest.length),
    falsePositives,
    falsePositiveRate: ratio(falsePositives, honest.length),
    signIn: latencyStats(ok.map(f => f.waitedMs)),
    failuresByCode
  }
}

export function computeFigures (responses: readonly ResponseRecord[], flows: readonly FlowRecord[], durationS: number): Figures {
  const measured = responses.filter(r => r.step !== 'idle')
  const byClass = new Map<TrafficClass, ResponseRecord[]>()
  for (const r of measured) {
    const list = byClass.get(r.cls)
    if (list === undefined) byClass.set(r.cls, [r])
    else list.push(r)
  }
  const classes = TRAFFIC_CLASSES.filter(c => byClass.has(c)).map(c => classFigures(c, byClass.get(c) ?? [], durationS))
  const attacks = classes.filter(c => c.attack !== undefined)
  const attempts = attacks.reduce((a, c) => a + (c.attack?.attempts ?? 0), 0)
  const missing = responses.filter(r => needsRetryAfter(r.status) && r.retryAfterS === undefined)
  const transport: Partial<Record<TrafficClass, number>> = {}
  for (const c of classes) if (c.outcomes.transport > 0) transport[c.cls] = c.outcomes.transport
  return {
    durationS,
    classes,
    honest: honestFigures(flows),
    attack: attacks.length === 0
      ? undefined
      : {
          attempts,
          passThrough: ratio(attacks.reduce((a, c) => a + (c.attack?.passed ?? 0), 0), attempts),
          blockedRate: ratio(attacks.reduce((a, c) => a + (c.attack?.blocked ?? 0), 0), attempts)
        },
    serverErrors: responses.filter(r => r.status >= 500 && r.status !== 503).length,
    missingRetryAfter: missing.length,
    missingRetryAfterByCode: countBy(missing.map(r => r.code || String(r.status))),
    transport
  }
}

export interface PhaseFigures {
  answers: number
  rps: number
  latency: LatencyStats
  /** Share of answers that were a success or progress. */
  goodShare: number | undefined
  blockedShare: number | undefined
}

/** One phase's throughput and latency, optionally for one class only (pure). */
export function phaseFigures (responses: readonly ResponseRecord[], phase: number, durationMs: number, cls?: TrafficClass): PhaseFigures {
  return figuresOf(responses.filter(r => r.phase === phase && r.step !== 'idle' && (cls === undefined || r.cls === cls)), durationMs)
}

/** The figures of several phases taken as one (slices of one measurement): their answers over their summed time (pure). */
export function pooledFigures (responses: readonly ResponseRecord[], phases: ReadonlyArray<{ index: number, start: number, end: number }>): PhaseFigures {
  const indices = new Set(phases.map(p => p.index))
  const durationMs = phases.reduce((sum, p) => sum + (p.end - p.start), 0)
  return figuresOf(responses.filter(r => indices.has(r.phase) && r.step !== 'idle'), durationMs)
}

function figuresOf (rows: readonly ResponseRecord[], durationMs: number): PhaseFigures {
  const good = rows.filter(r => r.outcome === 'success' || r.outcome === 'progress').length
  const blocked = rows.filter(r => r.outcome === 'blocked').length
  return {
    answers: rows.length,
    rps: durationMs > 0 ? rows.length / (durationMs / 1000) : 0,
    latency: latencyStats(rows.map(r => r.latencyMs)),
    goodShare: ratio(good, rows.length),
    blockedShare: ratio(blocked, rows.length)
  }
}

/** Latency of one class's answers that arrived between `from` and `to` ms (pure). */
export function latencyWithin (responses: readonly ResponseRecord[], cls: TrafficClass, from: number, to: number): LatencyStats {
  return latencyStats(responses.filter(r => r.cls === cls && r.step !== 'idle' && r.t >= from && r.t <= to).map(r => r.latencyMs))
}

/**
 * The highest req/s ratio to `directRps` a system under test costing no CPU at all could reach
 * on this machine: what the other processes (load generator, Redis, backend) spend per answer,
 * against all of its cores. Below a target, no gateway code can meet that target here.
 */
export function machineCeilingRatio (otherCpuMsPerAnswer: ReadonlyArray<number | null>, cores: number, directRps: number): number | null {
  const known = otherCpuMsPerAnswer.filter((ms): ms is number => ms !== null)
  const spent = known.reduce((sum, ms) => sum + ms, 0)
  return known.length === 0 || spent <= 0 || directRps <= 0 ? null : (cores * 1000 / spent) / directRps
}

/**
 * The gateway's per-second event-loop p99 samples (ms) within `slices`, leaving out the first
 * `skipMs` of each slice: a sample covers the second before it, and a slice's start is a load
 * generator starting (pure).
 */
export function eventLoopSamplesWithin (samples: ReadonlyArray<{ t: number, eventLoopP99Ms?: number | undefined }>, slices: ReadonlyArray<{ start: number, end: number }>, skipMs: number): number[] {
  return samples.filter(s => s.eventLoopP99Ms !== undefined && slices.some(p => s.t >= p.start + skipMs && s.t <= p.end)).map(s => s.eventLoopP99Ms ?? 0)
}

/** The worst of those seconds less the sampler's own interval; null without a sample (pure). */
export function worstEventLoopSecond (samples: ReadonlyArray<{ t: number, eventLoopP99Ms?: number | undefined }>, slices: ReadonlyArray<{ start: number, end: number }>, skipMs: number, resolutionMs: number): number | null {
  const within = eventLoopSamplesWithin(samples, slices, skipMs)
  return within.length === 0 ? null : Math.max(0, Math.max(...within) - resolutionMs)
}
