import { describe, expect, it } from 'vitest'
import { classifyAnswer, type Step, type TrafficClass } from '../../bench/measure/classify.js'
import { computeFigures, latencyWithin, machineCeilingRatio, phaseFigures, pooledFigures, worstEventLoopSecond } from '../../bench/measure/figures.js'
import { type FlowRecord, type ResponseRecord } from '../../bench/measure/recorder.js'
import { latencyStats, percentile } from '../../bench/measure/stats.js'
import { buildTimeline, recoveryAfter, type TimelinePoint } from '../../bench/measure/timeline.js'

function row (t: number, cls: TrafficClass, status: number, code: string, extra: Partial<ResponseRecord> = {}): ResponseRecord {
  const step: Step = cls === 'sms-pumping' ? 'otp_send' : 'login'
  return { t, cls, step, status, code, outcome: classifyAnswer(status, code), latencyMs: 10, retryAfterS: status === 429 || status === 503 ? 1 : undefined, phase: 0, ...extra }
}

const flow = (ok: boolean, code: string, blocked = false, waitedMs = 20): FlowRecord => ({ cls: 'honest', start: 0, end: 50, ok, code, blocked, waitedMs, phase: 0 })

describe('the figures of a run', () => {
  it('computes pass-through and block rates per attack class from its attack requests only', () => {
    const rows = [
      ...Array.from({ length: 95 }, (_, i) => row(i * 10, 'stuffing', 429, 'too_many_attempts')),
      ...Array.from({ length: 5 }, (_, i) => row(i * 10, 'stuffing', 401, 'invalid_credentials')),
      row(5, 'sms-pumping', 200, 'otp_required', { step: 'login' }), // setting up, not the attack
      row(6, 'sms-pumping', 200, 'sent'),
      row(7, 'sms-pumping', 429, 'too_many_attempts'),
      row(8, 'sms-pumping', 429, 'too_many_attempts'),
      row(9, 'sms-pumping', 503, 'otp_delivery_failed')
    ]
    const f = computeFigures(rows, [], 1)
    const stuffing = f.classes.find(c => c.cls === 'stuffing')
    expect(stuffing?.attack).toEqual({ attempts: 100, passed: 5, blocked: 95, passThrough: 0.05, blockedRate: 0.95 })
    expect(stuffing?.rps).toBe(100)
    const pump = f.classes.find(c => c.cls === 'sms-pumping')
    expect(pump?.attack).toMatchObject({ attempts: 4, passed: 1, blocked: 2, passThrough: 0.25, blockedRate: 0.5 })
    expect(f.attack).toMatchObject({ attempts: 104, passThrough: 6 / 104, blockedRate: 97 / 104 })
  })

  it('counts honest flows: success, false positives (blocked), and time to sign in from successful flows', () => {
    const flows = [...Array.from({ length: 97 }, () => flow(true, 'authenticated')), flow(false, 'too_many_attempts', true), flow(false, 'auth_unavailable'), flow(false, 'transport', false, 10_000)]
    const h = computeFigures([], flows, 1).honest
    expect(h).toMatchObject({ flows: 100, succeeded: 97, successRate: 0.97, falsePositives: 1, falsePositiveRate: 0.01 })
    expect(h?.failuresByCode).toEqual({ too_many_attempts: 1, auth_unavailable: 1, transport: 1 })
    expect(h?.signIn.max).toBe(20)
  })

  it('counts every 5xx but 503 as a server error, and 429/503 without Retry-After by code', () => {
    const rows = [
      row(1, 'honest', 500, 'internal_error'),
      row(2, 'honest', 502, ''),
      row(3, 'honest', 503, 'auth_unavailable'),
      row(4, 'honest', 503, 'otp_delivery_failed', { retryAfterS: undefined }),
      row(5, 'bot', 429, 'too_many_attempts', { retryAfterS: undefined }),
      row(6, 'honest', 0, 'transport'),
      row(7, 'honest', 200, 'ok', { step: 'idle' })
    ]
    const f = computeFigures(rows, [], 1)
    expect(f.serverErrors).toBe(2)
    expect(f.missingRetryAfter).toBe(2)
    expect(f.missingRetryAfterByCode).toEqual({ otp_delivery_failed: 1, too_many_attempts: 1 })
    expect(f.transport).toEqual({ honest: 1 })
    // Idle polls are not traffic of the class.
    expect(f.classes.find(c => c.cls === 'honest')?.requests).toBe(5)
  })

  it('gives one phase\'s throughput and latency, and latency inside a time window', () => {
    const rows = [row(100, 'honest', 200, 'authenticated', { latencyMs: 4 }), row(200, 'honest', 200, 'authenticated', { latencyMs: 8, phase: 1 }), row(300, 'honest', 429, 'too_many_attempts', { latencyMs: 2, phase: 1 })]
    expect(phaseFigures(rows, 1, 2000)).toMatchObject({ answers: 2, rps: 1, goodShare: 0.5, blockedShare: 0.5 })
    expect(latencyWithin(rows, 'honest', 150, 250).max).toBe(8)
  })

  it('pools slices of one measurement: their answers over their summed time, their latencies together', () => {
    const rows = [
      row(100, 'honest', 200, 'authenticated', { latencyMs: 4, phase: 0 }),
      row(1100, 'honest', 200, 'authenticated', { latencyMs: 6, phase: 1 }),
      row(2100, 'honest', 200, 'authenticated', { latencyMs: 40, phase: 2 }),
      row(2200, 'honest', 200, 'authenticated', { latencyMs: 8, phase: 2 }),
      row(2300, 'honest', 200, 'idle', { latencyMs: 90, phase: 2, step: 'idle' })
    ]
    // Slices 0 and 2 (one measurement), slice 1 (the other side) left out.
    const pooled = pooledFigures(rows, [{ index: 0, start: 0, end: 1000 }, { index: 2, start: 2000, end: 2500 }])
    expect(pooled).toMatchObject({ answers: 3, rps: 2, goodShare: 1 })
    expect(pooled.latency.max).toBe(40)
  })

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(values, 50)).toBe(50)
    expect(percentile(values, 99)).toBe(99)
    expect(percentile([], 50)).toBeNaN()
    expect(latencyStats([3, 1, 2])).toMatchObject({ count: 3, p50: 2, max: 3, mean: 2 })
  })
})

const point = (s: number, honestGood: number | undefined): TimelinePoint => ({ s, rps: {}, honestP50: undefined, honestP99: undefined, honestGood, attackBlocked: undefined, codes: {} })

describe('the timeline and recovery times', () => {
  it('buckets answers by second with honest success, attack block rate and problem codes', () => {
    const rows = [row(100, 'honest', 200, 'authenticated'), row(900, 'honest', 503, 'auth_unavailable'), row(1500, 'bot', 429, 'too_many_attempts'), row(1600, 'bot', 401, 'invalid_credentials'), row(2500, 'honest', 200, 'ok', { step: 'idle' })]
    const t = buildTimeline(rows, 2.4)
    expect(t).toHaveLength(2) // the partial last second is not charted
    expect(t[0]).toMatchObject({ s: 0, rps: { honest: 2 }, honestGood: 0.5, attackBlocked: undefined, codes: { auth_unavailable: 1 } })
    expect(t[1]).toMatchObject({ s: 1, rps: { bot: 2 }, honestGood: undefined, attackBlocked: 0.5, codes: { too_many_attempts: 1, invalid_credentials: 1 } })
  })

  it('measures recovery from the fault\'s end to the first of two good seconds', () => {
    const good = [1, 1, 1, 0.2, 0, 0, 0.5, 0.97, 1, 1]
    const timeline = good.map((g, s) => point(s, g))
    const r = recoveryAfter(timeline, { label: 'f', start: 3000, end: 5000 })
    expect(r).toMatchObject({ label: 'f', baseline: 1, worst: 0, seconds: 2 })
  })

  it('is zero when honest users never noticed, and null when they never got back within the run', () => {
    const fine = [1, 1, 1, 1, 1, 1].map((g, s) => point(s, g))
    expect(recoveryAfter(fine, { label: 'f', start: 2000, end: 3000 }).seconds).toBe(0)
    const never = [1, 1, 0, 0, 0.5, 0.6].map((g, s) => point(s, g))
    expect(recoveryAfter(never, { label: 'f', start: 2000, end: 3000 }).seconds).toBeNull()
    // Seconds without honest traffic say nothing either way.
    const gaps = [1, 1, 0, undefined, 1, 1].map((g, s) => point(s, g))
    expect(recoveryAfter(gaps, { label: 'f', start: 2000, end: 3000 }).seconds).toBe(1)
  })

  it('compares with the baseline before the fault, not with perfection', () => {
    const noisy = [0.9, 0.9, 0.9, 0.1, 0.87, 0.88, 0.9].map((g, s) => point(s, g))
    expect(recoveryAfter(noisy, { label: 'f', start: 3000, end: 4000 })).toMatchObject({ baseline: 0.9, seconds: 0 })
  })
})

describe('machineCeilingRatio', () => {
  it('says what ratio a gateway costing nothing could reach with what the other processes spend', () => {
    // 0.3 ms per login elsewhere on 2 cores: 6 667 logins/s at most, against 33 333 direct.
    expect(machineCeilingRatio([0.1, 0.15, 0.05], 2, 33_333)).toBeCloseTo(0.2, 3)
    expect(machineCeilingRatio([0.06, null], 2, 34_000)).toBeCloseTo(0.98, 2)
    expect(machineCeilingRatio([null, null], 2, 34_000)).toBeNull()
    expect(machineCeilingRatio([0.1], 2, 0)).toBeNull()
  })
})

describe('worstEventLoopSecond', () => {
  // Per-second samples of the gateway's p99 (ms); two slices, 0-5 s and 10-15 s.
  const samples = [
    { t: 1000, eventLoopP99Ms: 90 }, // the first second of a slice: a load generator starting
    { t: 3000, eventLoopP99Ms: 24 },
    { t: 5000, eventLoopP99Ms: 31 },
    { t: 7000, eventLoopP99Ms: 80 }, // between the slices
    { t: 12_500, eventLoopP99Ms: 27 },
    { t: 14_000, eventLoopP99Ms: undefined }, // a scrape that failed
    { t: 15_500, eventLoopP99Ms: 99 } // after the second slice
  ]
  const slices = [{ start: 0, end: 5000 }, { start: 10_000, end: 15_000 }]

  it('takes the highest sample inside the slices, after their first seconds, less the sampling interval', () => {
    expect(worstEventLoopSecond(samples, slices, 2000, 10)).toBe(21)
    expect(worstEventLoopSecond(samples, slices, 0, 10)).toBe(80)
    expect(worstEventLoopSecond(samples, [slices[1]!], 2000, 10)).toBe(17)
  })

  it('is null without a sample and never below zero', () => {
    expect(worstEventLoopSecond(samples, [{ start: 20_000, end: 30_000 }], 0, 10)).toBeNull()
    expect(worstEventLoopSecond([{ t: 3000, eventLoopP99Ms: 4 }], slices, 0, 10)).toBe(0)
  })
})
