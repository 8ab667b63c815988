import { describe, expect, it } from 'vitest'
import { attackMemory } from '../../bench/scenarios/attack-memory.js'
import { overhead } from '../../bench/scenarios/overhead.js'
import { chooseModel, parseBenchArgs } from '../../bench/cli-args.js'
import { type Figures } from '../../bench/measure/figures.js'
import { allPassed, evaluateSlo, evaluateSlos, formatValue } from '../../bench/measure/slo.js'
import { type MetricsSample } from '../../bench/measure/metrics-sampler.js'
import { coldStart } from '../../bench/scenarios/cold-start.js'
import { credentialStuffing } from '../../bench/scenarios/credential-stuffing.js'
import { commonObjectives } from '../../bench/scenarios/objectives.js'
import { crowdSize, postMaintenance } from '../../bench/scenarios/post-maintenance.js'
import { type SloInput } from '../../bench/scenarios/types.js'

function figures (over: Partial<Figures> = {}): Figures {
  return { durationS: 10, classes: [], honest: undefined, attack: undefined, serverErrors: 0, missingRetryAfter: 0, missingRetryAfterByCode: {}, transport: {}, ...over }
}

const sample = (http5xx: number): MetricsSample => ({ t: 0, breakers: {}, rssMb: 100, heapUsedMb: 50, eventLoopP99Ms: 11, http5xx, http503: 0, otpSends: {}, blockCacheHits: 0, insuranceChecks: 0, sessionGraceCopies: undefined })

const input = (over: Partial<SloInput> = {}): SloInput => ({ figures: figures(), recoveries: [], extras: {}, samples: [], faults: [], backend: [], ...over })

describe('attack-memory objectives', () => {
  const full = { addressesTracked: 100_000, crowdSignedIn: 100_000, outageAddresses: 100_000, outageUnanswered: 0, rssMaxMb: 190 }
  const results = (extras: Record<string, number>) => evaluateSlos(attackMemory.objectives(input({ extras })))
  const byId = (extras: Record<string, number>, id: string) => results(extras).find(r => r.id === id)

  it('pass when every cache filled, with Redis up and then down, under 200 MB and every flood request answered', () => {
    expect(allPassed(results(full))).toBe(true)
  })

  it('fail when the gateway fell over during the outage, or grew past 200 MB', () => {
    expect(byId({ ...full, outageUnanswered: 3 }, 'outageUnanswered')?.pass).toBe(false)
    expect(byId({ ...full, rssMaxMb: 201 }, 'rssMaxMb')?.pass).toBe(false)
  })

  it('do not judge the memory of an outage flood that did not reach its size', () => {
    const short = { ...full, outageAddresses: 40_000 }
    expect(byId(short, 'outageAddresses')?.pass).toBe(false)
    expect(byId(short, 'rssMaxMb')).toMatchObject({ pass: false, note: 'not measured in this run' })
  })
})

describe('objectives', () => {
  it('pass or fail on their target, and fail when nothing was measured', () => {
    expect(evaluateSlo({ id: 'a', description: 'a', op: '>=', target: 0.99, actual: 0.99, format: 'percent' }).pass).toBe(true)
    expect(evaluateSlo({ id: 'a', description: 'a', op: '>=', target: 0.99, actual: 0.9899, format: 'percent' }).pass).toBe(false)
    expect(evaluateSlo({ id: 'b', description: 'b', op: '<=', target: 0, actual: 0, format: 'count' }).pass).toBe(true)
    expect(evaluateSlo({ id: 'b', description: 'b', op: '<=', target: 0, actual: 1, format: 'count' }).pass).toBe(false)
    const unmeasured = evaluateSlo({ id: 'c', description: 'c', op: '<=', target: 5, actual: undefined, format: 's' })
    expect(unmeasured).toMatchObject({ pass: false, actual: null, note: 'not measured in this run' })
    expect(evaluateSlo({ id: 'd', description: 'd', op: '<=', target: 5, actual: NaN, format: 's' }).pass).toBe(false)
    expect(allPassed(evaluateSlos([]))).toBe(true)
  })

  it('say the overhead ratios against what this machine allows any gateway', () => {
    const extras = { rpsRatio: 0.05, loginCeilingRatio: 0.18, rejectionRpsRatio: 0.2, rejectionCeilingRatio: 0.9 }
    const results = evaluateSlos(overhead.objectives(input({ extras })))
    const login = results.find(r => r.id === 'rpsRatio')
    expect(login).toMatchObject({ pass: false, note: "this machine's ceiling for a gateway costing no CPU: 0.18x" })
    expect(results.find(r => r.id === 'rejectionRpsRatio')?.note).toContain('0.90x')
    // Without a ceiling measured, no note; without the ratio, "not measured" wins.
    expect(evaluateSlos(overhead.objectives(input({ extras: { rpsRatio: 0.05 } }))).find(r => r.id === 'rpsRatio')?.note).toBeUndefined()
    expect(evaluateSlos(overhead.objectives(input({ extras: { loginCeilingRatio: 0.18 } }))).find(r => r.id === 'rpsRatio')?.note).toBe('not measured in this run')
  })

  it('fail an overhead run whose rejection path was not refused (blocks that ran out would measure logins)', () => {
    const share = (rejectionBlockedShare: number) => evaluateSlos(overhead.objectives(input({ extras: { rejectionBlockedShare } }))).find(r => r.id === 'rejectionBlockedShare')?.pass
    expect(share(1)).toBe(true)
    expect(share(0.6)).toBe(false)
  })

  it('in every scenario: no 5xx by the bench\'s count or the gateway\'s own, Retry-After on 429/503, every honest request answered', () => {
    expect(allPassed(evaluateSlos(commonObjectives(input({ samples: [sample(0)] }))))).toBe(true)
    // The gateway's /metrics saw a 500 the bench did not (another client, or an idle poll).
    const hidden = evaluateSlos(commonObjectives(input({ samples: [sample(0), sample(2)] })))
    expect(hidden.find(r => r.id === 'no_5xx')).toMatchObject({ pass: false, actual: 2 })
    const noRetry = evaluateSlos(commonObjectives(input({ figures: figures({ missingRetryAfter: 3, missingRetryAfterByCode: { otp_delivery_failed: 3 } }) })))
    expect(noRetry.find(r => r.id === 'retry_after')).toMatchObject({ pass: false, description: expect.stringContaining('otp_delivery_failed') })
    const lost = evaluateSlos(commonObjectives(input({ figures: figures({ transport: { honest: 1 } }) })))
    expect(lost.find(r => r.id === 'honest_answered')?.pass).toBe(false)
  })

  it('in credential-stuffing: honest success, blocked attacks and the cap on codes per premium number', () => {
    const attack = (cls: 'stuffing' | 'brute-force' | 'bot', blockedRate: number) => ({
      cls,
      requests: 100,
      rps: 10,
      latency: { count: 100, mean: 1, p50: 1, p90: 1, p99: 1, max: 1 },
      outcomes: { success: 0, progress: 0, refused: 0, blocked: 0, unavailable: 0, client_error: 0, server_error: 0, transport: 0 },
      codes: {},
      attack: { attempts: 100, passed: 100 - blockedRate * 100, blocked: blockedRate * 100, passThrough: 1 - blockedRate, blockedRate }
    })
    const honest = { flows: 100, succeeded: 100, successRate: 1, falsePositives: 0, falsePositiveRate: 0, signIn: { count: 100, mean: 1, p50: 1, p90: 1, p99: 1, max: 1 }, failuresByCode: {} }
    const good = credentialStuffing.objectives(input({ figures: figures({ honest, classes: [attack('stuffing', 0.96), attack('brute-force', 0.99), attack('bot', 0.99)] }), extras: { maxCodesToOnePumpNumber: 10 } }))
    expect(evaluateSlos(good).filter(r => !r.pass)).toEqual([])
    const bad = evaluateSlos(credentialStuffing.objectives(input({ figures: figures({ honest, classes: [attack('stuffing', 0.35), attack('brute-force', 0.99), attack('bot', 0.99)] }), extras: { maxCodesToOnePumpNumber: 11 } })))
    expect(bad.filter(r => !r.pass).map(r => r.id)).toEqual(['stuffing_blocked', 'maxCodesToOnePumpNumber'])
  })

  it('in cold-start: no answer may blame Redis or the backend, in any class; a moment of shedding passes', () => {
    const cls = (name: 'honest' | 'stuffing', codes: Record<string, number>) => ({
      cls: name,
      requests: 100,
      rps: 10,
      latency: { count: 100, mean: 1, p50: 1, p90: 1, p99: 1, max: 1 },
      outcomes: { success: 0, progress: 0, refused: 0, blocked: 0, unavailable: 0, client_error: 0, server_error: 0, transport: 0 },
      codes
    })
    const honest = (successRate: number) => ({ flows: 100, succeeded: successRate * 100, successRate, falsePositives: 0, falsePositiveRate: 0, signIn: { count: 100, mean: 1, p50: 1, p90: 1, p99: 1, max: 1 }, failuresByCode: {} })
    const failed = (classes: ReturnType<typeof cls>[], successRate = 0.96) =>
      evaluateSlos(coldStart.objectives(input({ figures: figures({ honest: honest(successRate), classes }) }))).filter(r => !r.pass).map(r => r.id)
    expect(failed([cls('honest', { authenticated: 96, overloaded: 4 })])).toEqual([])
    expect(failed([cls('honest', { authenticated: 99 }), cls('stuffing', { session_store_unavailable: 1 })])).toEqual(['code_session_store_unavailable'])
    expect(failed([cls('honest', { auth_unavailable: 2 })])).toEqual(['code_auth_unavailable'])
    expect(failed([cls('honest', { overloaded: 20 })], 0.8)).toEqual(['honest_success'])
  })

  it('in post-maintenance: the backend\'s busiest second after the window, as a share of the crowd', () => {
    const extras = { crowd: 1000, crowdSignedInShare: 1, maintenanceRetryAfterAccurate: 1, maintenanceEndS: 5 }
    const spike = evaluateSlos(postMaintenance.objectives(input({ extras, backend: [{ s: 4, calls: 900, errors: 0, maxInFlight: 1 }, { s: 5, calls: 600, errors: 0, maxInFlight: 1 }] })))
    expect(spike.find(r => r.id === 'backend_peak')).toMatchObject({ pass: false, actual: 0.6 })
    const staged = evaluateSlos(postMaintenance.objectives(input({ extras, backend: [{ s: 5, calls: 100, errors: 0, maxInFlight: 1 }, { s: 6, calls: 200, errors: 0, maxInFlight: 1 }] })))
    expect(staged.every(r => r.pass)).toBe(true)
    // Against a remote gateway nothing says what reached its backend: no such objective.
    expect(postMaintenance.objectives(input({ extras })).map(o => o.id)).not.toContain('backend_peak')
    expect(crowdSize({ kind: 'open', rate: 300 }, 30)).toBe(2250)
  })

  it('print as people read them', () => {
    expect(formatValue(0.9876, 'percent')).toBe('98.76%')
    expect(formatValue(1, 'percent')).toBe('100%')
    expect(formatValue(0.0713, 'ratio')).toBe('0.07x')
    expect(formatValue(1512.87, 'ms')).toBe('1512.9 ms')
    expect(formatValue(null, 's')).toBe('n/a')
  })
})

describe('the command line', () => {
  it('takes a scenario and checked options', () => {
    const parsed = parseBenchArgs(['peak-login', '--duration', '15', '--rate', '250', '--target', 'http://127.0.0.1:9000', '--quiet'])
    expect(parsed).toEqual({ ok: true, args: { scenario: 'peak-login', durationS: 15, rate: 250, target: 'http://127.0.0.1:9000', quiet: true, cpuProf: false, compiled: false, help: false } })
  })

  it('refuses what it cannot run, saying why', () => {
    expect(parseBenchArgs([])).toMatchObject({ ok: false, error: expect.stringContaining('name a scenario') })
    expect(parseBenchArgs(['peak-login', '--duration', '0'])).toMatchObject({ ok: false, error: expect.stringContaining('--duration=0') })
    expect(parseBenchArgs(['peak-login', '--connections', 'many'])).toMatchObject({ ok: false })
    expect(parseBenchArgs(['peak-login', '--target', 'localhost:8080'])).toMatchObject({ ok: false, error: expect.stringContaining('http(s) URL') })
    expect(parseBenchArgs(['peak-login', '--bogus'])).toMatchObject({ ok: false })
    expect(parseBenchArgs(['a', 'b'])).toMatchObject({ ok: false, error: expect.stringContaining('one scenario at a time') })
  })

  it('picks the open model for --rate, the closed model for --connections alone, else the scenario\'s default', () => {
    expect(chooseModel({ rate: 100 }, { kind: 'closed', connections: 20 })).toEqual({ kind: 'open', rate: 100 })
    expect(chooseModel({ rate: 100, connections: 10 }, { kind: 'closed', connections: 20 })).toEqual({ kind: 'open', rate: 100, connections: 10 })
    expect(chooseModel({ connections: 10 }, { kind: 'open', rate: 300 })).toEqual({ kind: 'closed', connections: 10 })
    expect(chooseModel({}, { kind: 'open', rate: 300 })).toEqual({ kind: 'open', rate: 300 })
  })
})
