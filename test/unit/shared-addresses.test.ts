import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../src/infra/metrics.js'
import { createSharedAddresses } from '../../src/limits/shared-addresses.js'

// The in-process store (no Redis): what is under test is the cache in front of any store.
function shared (maxEntries = 100) {
  const clock = { now: Date.parse('2026-12-07T08:00:00.250Z') }
  const metrics = createMetrics()
  const s = createSharedAddresses({ redis: null, keyPrefix: 't:', minUsers: 2, cacheTtlMs: 60_000, maxEntries, log: pino({ level: 'silent' }), metrics, now: () => clock.now })
  return { s, clock, metrics }
}

describe('shared addresses: the in-process answers', () => {
  it('remembers shared and not shared for the cache TTL, and not a second more', async () => {
    const { s, clock, metrics } = shared()
    expect(s.known('ip:1')).toBeUndefined()
    await s.recordSuccess('ip:1', 'user-a')
    expect(s.known('ip:1')).toBe(false)
    await s.recordSuccess('ip:1', 'user-b')
    expect(s.known('ip:1')).toBe(true)
    expect(await metrics.registry.getSingleMetricAsString('lg_shared_addresses_detected_total')).toMatch(/ 1$/m)
    await s.recordSuccess('ip:1', 'user-c') // still shared: not detected again
    expect(await metrics.registry.getSingleMetricAsString('lg_shared_addresses_detected_total')).toMatch(/ 1$/m)
    clock.now += 59_000
    expect(s.known('ip:1')).toBe(true)
    clock.now += 2_000
    expect(s.known('ip:1')).toBeUndefined()
    expect(await s.lookup('ip:1')).toBe(true) // the store still counts three users
    expect(s.known('ip:1')).toBe(true)
  })

  it('keeps at most maxEntries addresses, dropping the least recently answered', async () => {
    const { s, clock } = shared(2)
    await s.recordSuccess('ip:1', 'u')
    await s.recordSuccess('ip:2', 'u')
    clock.now += 10
    await s.recordSuccess('ip:1', 'v') // answered again: now the newest
    await s.recordSuccess('ip:3', 'u')
    expect(s.known('ip:2')).toBeUndefined()
    expect(s.known('ip:1')).toBe(true)
    expect(s.known('ip:3')).toBe(false)
  })
})
