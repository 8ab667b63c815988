// Property-based: whatever the sequence of attempts, users, addresses and clock steps, no key is
// admitted past its budget within its window, and a success resets exactly what it should.
import fc from 'fast-check'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createMetrics } from '../../src/infra/metrics.js'
import { createBlockCache } from '../../src/limits/block-cache.js'
import { createLimitCounters } from '../../src/limits/limit-counters.js'
import { createLimitGuard } from '../../src/limits/limit-guard.js'
import { DEFAULT_LIMITS, LIMIT_NAMES, type Limits } from '../../src/limits/limit-policy.js'
import { createSharedAddresses } from '../../src/limits/shared-addresses.js'

const IP_ATTEMPTS = { points: 4, windowS: 10 }
const IP_FAILURES = { points: 6, windowS: 86_400 }
const CONSECUTIVE = { points: 3, windowS: 86_400 }

const limits = Object.fromEntries(LIMIT_NAMES.map(n => [n, { ...DEFAULT_LIMITS[n], enabled: false }])) as Limits
limits.ip_attempts = { ...DEFAULT_LIMITS.ip_attempts, ...IP_ATTEMPTS }
limits.ip_failures = { ...DEFAULT_LIMITS.ip_failures, ...IP_FAILURES }
limits.user_ip_failures = { ...DEFAULT_LIMITS.user_ip_failures, ...CONSECUTIVE, blockS: 0 }

const log = pino({ level: 'silent' })
const metrics = createMetrics()

function freshGuard () {
  const sharedPolicy = { multiplier: 1 }
  return createLimitGuard({
    counters: createLimitCounters({ redis: null, keyPrefix: 'p:', limits, shared: sharedPolicy, replicas: 1, metrics }),
    shared: createSharedAddresses({ redis: null, keyPrefix: 'p:', minUsers: 1000, cacheTtlMs: 60_000, maxEntries: 1000, log, metrics, now: Date.now }),
    blocks: createBlockCache(1000, Date.now),
    limits,
    sharedPolicy,
    metrics
  })
}

const attemptArb = fc.record({
  user: fc.integer({ min: 0, max: 2 }),
  ip: fc.integer({ min: 0, max: 2 }),
  correct: fc.boolean(),
  stepS: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 12 }))
})

describe('the limit guard, for any sequence of attempts', () => {
  beforeAll(() => { vi.useFakeTimers({ now: Date.parse('2026-11-22T00:00:00Z'), toFake: ['Date', 'setTimeout', 'clearTimeout'] }) })
  afterAll(() => { vi.useRealTimers() })

  it('never admits past a budget in a window, and a success resets only the user-and-address count', async () => {
    await fc.assert(fc.asyncProperty(fc.array(attemptArb, { minLength: 10, maxLength: 80, size: 'max' }), async attempts => {
      const guard = freshGuard()
      const windows = new Map<number, { end: number, admitted: number }>() // ip_attempts, fixed windows
      const ipFailures = new Map<number, number>()
      const consecutive = new Map<string, number>()
      const justSucceeded = new Set<string>()

      for (const a of attempts) {
        vi.advanceTimersByTime(a.stepS * 1000)
        const now = Date.now()
        const pair = `${a.user}@${a.ip}`
        const subject = { ipKey: `10.0.0.${a.ip}`, subnet: '10.0.0.0/24', userKey: `user${a.user}` }
        const result = await guard.check(subject, log)

        // A window opens with the first attempt after the last one closed.
        let window = windows.get(a.ip)
        if (window === undefined || now >= window.end) windows.set(a.ip, window = { end: now + IP_ATTEMPTS.windowS * 1000, admitted: 0 })

        if (result.kind === 'reject') {
          if (justSucceeded.has(pair)) expect(result.limit.name).not.toBe('user_ip_failures')
          justSucceeded.delete(pair)
          continue
        }
        window.admitted++
        expect(window.admitted).toBeLessThanOrEqual(IP_ATTEMPTS.points)
        justSucceeded.delete(pair)
        if (a.correct) {
          await guard.passwordRight(subject, result.keys, log, true)
          consecutive.set(pair, 0)
          justSucceeded.add(pair)
        } else {
          consecutive.set(pair, (consecutive.get(pair) ?? 0) + 1)
          ipFailures.set(a.ip, (ipFailures.get(a.ip) ?? 0) + 1)
          expect(consecutive.get(pair)).toBeLessThanOrEqual(CONSECUTIVE.points)
          // Successes on other accounts never launder the address.
          expect(ipFailures.get(a.ip)).toBeLessThanOrEqual(IP_FAILURES.points)
        }
      }
    }), { numRuns: 200 })
  }, 60_000)
})
