// Property-based: whatever the sequence of attempts (users, addresses in two subnets, trusted
// devices, solved challenges, right and wrong passwords, clock steps), the guard admits nothing
// past a budget within its window and refuses only over a budget. The model is README "Rate
// limits": who each limit holds and keys by, fixed windows that open with the first counted
// attempt, failures counted up front and given back by a right password, consecutive counts
// cleared by a complete login, shared addresses' budgets multiplied, challenge limits passed by
// a solved challenge, and a refused key remembered (counting nothing) until its window ends.
import fc from 'fast-check'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createMetrics } from '../../src/infra/metrics.js'
import { createBlockCache } from '../../src/limits/block-cache.js'
import { createInsuranceStorage } from '../../src/limits/insurance-storage.js'
import { createLimitCounters } from '../../src/limits/limit-counters.js'
import { createLimitGuard } from '../../src/limits/limit-guard.js'
import { DEFAULT_LIMITS, LIMIT_NAMES, type LimitName, type Limits } from '../../src/limits/limit-policy.js'
import { createSharedAddresses } from '../../src/limits/shared-addresses.js'

const DAY = 86_400
const MULTIPLIER = 2
const MIN_USERS = 3 // distinct complete logins that make an address shared
const BUDGETS: Record<LimitName, { points: number, windowS: number }> = {
  global_attempts: { points: 12, windowS: 3 },
  ip_attempts: { points: 3, windowS: 10 },
  subnet_attempts: { points: 5, windowS: 10 },
  ip_failures: { points: 10, windowS: DAY },
  user_ip_failures: { points: 3, windowS: DAY },
  user_failures_short: { points: 4, windowS: 30 },
  user_failures_day: { points: 7, windowS: DAY },
  device_attempts: { points: 3, windowS: 10 },
  device_failures: { points: 3, windowS: DAY }
}
// Escalating blocks are left out (blockS 0): refused until the window ends.
const limits = Object.fromEntries(LIMIT_NAMES.map(n => [n, { ...DEFAULT_LIMITS[n], ...BUDGETS[n], blockS: 0 }])) as Limits

// README's table, written out rather than read from the policy.
const HOLDS: Record<LimitName, 'both' | 'untrusted' | 'trusted'> = {
  global_attempts: 'both',
  ip_attempts: 'untrusted',
  subnet_attempts: 'untrusted',
  ip_failures: 'untrusted',
  user_ip_failures: 'untrusted',
  user_failures_short: 'untrusted',
  user_failures_day: 'untrusted',
  device_attempts: 'trusted',
  device_failures: 'trusted'
}
const COUNTS_FAILURES = new Set<LimitName>(['ip_failures', 'user_ip_failures', 'user_failures_short', 'user_failures_day', 'device_failures'])
const CLEARED_BY_LOGIN = new Set<LimitName>(['user_ip_failures', 'device_failures'])
const CHALLENGES = new Set<LimitName>(['user_failures_short', 'user_failures_day'])
const RAISED_WHEN_SHARED = new Set<LimitName>(['ip_attempts', 'ip_failures', 'subnet_attempts'])

interface Attempt { user: number, ip: number, device: number | null, correct: boolean, solved: boolean, stepS: number }

const log = pino({ level: 'silent' })
const metrics = createMetrics()

function freshGuard () {
  const sharedPolicy = { multiplier: MULTIPLIER }
  return createLimitGuard({
    counters: createLimitCounters({ redis: null, keyPrefix: 'p:', limits, shared: sharedPolicy, replicas: 1, metrics, storage: createInsuranceStorage(100_000, Date.now) }), // the faked clock
    shared: createSharedAddresses({ redis: null, keyPrefix: 'p:', minUsers: MIN_USERS, cacheTtlMs: 20_000, maxEntries: 1000, log, metrics, now: Date.now }),
    blocks: createBlockCache(1000, Date.now),
    limits,
    sharedPolicy,
    metrics
  })
}

/** The key a limit counts this attempt under, as README's "keyed by" column says. */
function modelKey (name: LimitName, a: Attempt): string {
  const subnet = a.ip < 2 ? 'A' : 'B'
  switch (name) {
    case 'global_attempts': return 'all'
    case 'ip_attempts': case 'ip_failures': return `ip${a.ip}`
    case 'subnet_attempts': return `net${subnet}`
    case 'user_ip_failures': return `u${a.user}@ip${a.ip}`
    case 'user_failures_short': case 'user_failures_day': return `u${a.user}`
    case 'device_attempts': case 'device_failures': return `d${a.device ?? ''}@u${a.user}`
  }
}

/**
 * One counter of the model: `high` counts every counted attempt less the points surely given
 * back; `low` also takes back the point of each refused attempt (whether the guard keeps it on
 * the limit that refused is its own business), so it counts exactly the admitted failures.
 */
interface Count { end: number, high: number, low: number, refused: boolean }

const attemptArb = fc.record({
  user: fc.integer({ min: 0, max: 4 }),
  ip: fc.integer({ min: 0, max: 5 }).map(n => Math.max(0, n - 2)), // ip0 (busiest) and ip1 in one /24, ip2 and ip3 in another
  device: fc.integer({ min: 0, max: 9 }).map(n => n < 3 ? n % 2 : null), // three attempts in ten from a trusted device
  correct: fc.integer({ min: 0, max: 2 }).map(n => n === 0),
  solved: fc.integer({ min: 0, max: 3 }).map(n => n === 0),
  stepS: fc.integer({ min: 0, max: 3 }).map(n => n === 3 ? 1 : 0)
})
// Bursts of attempts, and pauses between them that outlast the short windows or not.
// A device cookie is bound to one username: device n is user n's.
const runArb: fc.Arbitrary<Attempt[]> = fc.array(fc.record({ pauseS: fc.integer({ min: 0, max: 40 }), burst: fc.array(attemptArb, { minLength: 1, maxLength: 14 }) }), { minLength: 2, maxLength: 12 })
  .map(bursts => bursts.flatMap(({ pauseS, burst }) => burst.map((a, i) => ({ ...a, user: a.device ?? a.user, stepS: i === 0 ? pauseS : a.stepS }))))

describe('the limit guard, for any sequence of attempts', () => {
  beforeAll(() => { vi.useFakeTimers({ now: Date.parse('2026-11-22T00:00:00Z'), toFake: ['Date', 'setTimeout', 'clearTimeout'] }) })
  afterAll(() => { vi.useRealTimers() })

  it('admits nothing past a budget in its window, and refuses only over one', async () => {
    await fc.assert(fc.asyncProperty(runArb, async attempts => {
      const guard = freshGuard()
      const counts = new Map<string, Count>()
      const successes = new Map<number, Set<number>>()

      for (const a of attempts) {
        vi.advanceTimersByTime(a.stepS * 1000)
        const now = Date.now()
        const trusted = a.device !== null
        const held = LIMIT_NAMES.filter(n => HOLDS[n] === 'both' || (HOLDS[n] === 'trusted') === trusted)
        const shared = (successes.get(a.ip)?.size ?? 0) >= MIN_USERS
        const budget = (n: LimitName) => BUDGETS[n].points * (shared && RAISED_WHEN_SHARED.has(n) ? MULTIPLIER : 1)
        const countOf = (n: LimitName) => counts.get(`${n}:${modelKey(n, a)}`)
        const subject = {
          ipKey: `10.0.${a.ip < 2 ? 0 : 1}.${a.ip}`,
          subnet: `10.0.${a.ip < 2 ? 0 : 1}.0/24`,
          userKey: `user${a.user}`,
          ...(trusted ? { deviceId: `device${a.device}` } : {})
        }
        const result = await guard.check(subject, log, { challengeSolved: a.solved })

        if (result.kind === 'reject' && result.cached) {
          // A remembered refusal: its key was refused in this window, and nothing is counted.
          const name = result.limit.name
          const c = countOf(name)
          expect(held).toContain(name)
          expect(c?.refused).toBe(true)
          expect(now).toBeLessThan(c?.end ?? 0)
          expect(result.retryAfterMs).toBeLessThanOrEqual((c?.end ?? 0) - now)
          continue
        }

        for (const n of held) {
          const id = `${n}:${modelKey(n, a)}`
          let c = counts.get(id)
          if (c === undefined || now >= c.end) counts.set(id, c = { end: now + BUDGETS[n].windowS * 1000, high: 0, low: 0, refused: false })
          c.high++
          c.low++
        }
        const passes = (n: LimitName) => CHALLENGES.has(n) && a.solved

        if (result.kind === 'reject') {
          const name = result.limit.name
          const c = countOf(name)
          expect(held).toContain(name)
          expect(passes(name)).toBe(false)
          expect(c?.high).toBeGreaterThan(budget(name)) // over its budget, as far as anyone can tell
          expect(result.challenge).toBe(CHALLENGES.has(name))
          expect(result.budget).toBe(budget(name))
          expect(result.retryAfterMs).toBeGreaterThan(0)
          expect(result.retryAfterMs).toBeLessThanOrEqual((c?.end ?? 0) - now) // refused until the window ends
          if (c !== undefined && !CHALLENGES.has(name)) c.refused = true
          for (const n of held) if (COUNTS_FAILURES.has(n)) { const f = countOf(n); if (f) f.low-- } // no failure happened
          continue
        }

        // Admitted: every limit holding it, counting this attempt (and as a failure, up front), is within budget.
        for (const n of held) if (!passes(n)) expect(countOf(n)?.low).toBeLessThanOrEqual(budget(n))
        if (a.correct) {
          await guard.passwordRight(subject, result.keys, log, true)
          for (const n of held) {
            if (!COUNTS_FAILURES.has(n)) continue
            if (CLEARED_BY_LOGIN.has(n)) counts.delete(`${n}:${modelKey(n, a)}`)
            else { const f = countOf(n); if (f) { f.high--; f.low-- } }
          }
          successes.set(a.ip, (successes.get(a.ip) ?? new Set()).add(a.user))
        }
      }
    }), { numRuns: 100, interruptAfterTimeLimit: 15_000 }) // bounds shrinking too: this loop never yields to vitest's timeout
  }, 60_000)
})
