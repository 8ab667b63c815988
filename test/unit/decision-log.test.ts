import { describe, expect, it } from 'vitest'
import { createDecisionLog, type DecisionRecord } from '../../src/rules/decision-log.js'
import { NO_VELOCITY } from '../../src/rules/features.js'

const decision = (requestId: string): DecisionRecord => ({
  requestId,
  time: '2026-12-03T10:00:00.000Z',
  user: 'a***e',
  features: { path: '/auth/login', method: 'POST', ip: '203.0.113.9', ipKey: '203.0.113.9', subnet: '203.0.113.0/24', headers: {}, userAgent: '', ua: { bot: false, missing: true, malformed: false, browser: false }, anomalies: [], honeypot: false, trustedDevice: false, userKey: 'k', velocity: { ...NO_VELOCITY, globalAttempts: 0, globalFailureRatio: 0 } },
  verdict: { action: 'none', enforced: [], shadowed: [], budgets: {}, tags: [] },
  challengeSolved: false,
  outcome: 'invalid_credentials'
})

describe('the decision log in memory', () => {
  it('keeps every decision at ordinary rates, newest first', async () => {
    let now = 0
    const log = createDecisionLog({ target: 'off', maxBytes: 1024, keepInMemory: 5, keepPerSecond: 3, now: () => now })
    for (let i = 1; i <= 7; i++) {
      log.record(decision(`r${i}`))
      now += 1000
    }
    expect(log.recent(10).map(d => d.requestId)).toEqual(['r7', 'r6', 'r5', 'r4', 'r3'])
    await log.close()
  })

  it('keeps the first decisions of a second past which an attack would turn the ring over', async () => {
    let now = 5_000
    const log = createDecisionLog({ target: 'off', maxBytes: 1024, keepInMemory: 10, keepPerSecond: 3, now: () => now })
    for (let i = 1; i <= 100; i++) log.record(decision(`a${i}`))
    now = 6_200
    log.record(decision('b1'))
    expect(log.recent(10).map(d => d.requestId)).toEqual(['b1', 'a3', 'a2', 'a1'])
    await log.close()
  })

  it('says whether a decision would be kept, so that a busy second builds no record only to drop it', async () => {
    let now = 5_000
    const log = createDecisionLog({ target: 'off', maxBytes: 1024, keepInMemory: 10, keepPerSecond: 2, now: () => now })
    expect(log.wanted()).toBe(true)
    log.record(decision('a1'))
    expect(log.wanted()).toBe(true)
    log.record(decision('a2'))
    expect(log.wanted()).toBe(false) // this second's share is taken
    now = 6_000
    expect(log.wanted()).toBe(true) // a new second
    await log.close()

    const none = createDecisionLog({ target: 'off', maxBytes: 1024, keepInMemory: 0, keepPerSecond: 2, now: () => now })
    expect(none.wanted()).toBe(false)
    await none.close()
  })

  it('always wants a decision the sink writes, whatever the ring keeps', async () => {
    const log = createDecisionLog({ target: 'stdout', maxBytes: 1024, keepInMemory: 0, keepPerSecond: 0, now: () => 0 })
    expect(log.wanted()).toBe(true)
    await log.close()
  })
})
