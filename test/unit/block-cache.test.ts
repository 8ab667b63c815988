import { describe, expect, it } from 'vitest'
import { createBlockCache } from '../../src/limits/block-cache.js'

describe('block cache', () => {
  it('answers how long a key stays blocked, to within 10 ms and never less, then forgets it', () => {
    const clock = { now: Date.parse('2026-12-07T08:00:00.003Z') }
    const c = createBlockCache(100, () => clock.now)
    expect(c.msLeft('ip_attempts:198.51.100.7')).toBe(0)
    c.add('ip_attempts:198.51.100.7', 60_000)
    const left = c.msLeft('ip_attempts:198.51.100.7')
    expect(left).toBeGreaterThanOrEqual(60_000)
    expect(left).toBeLessThan(60_010)
    clock.now += 59_999
    expect(c.msLeft('ip_attempts:198.51.100.7')).toBeGreaterThan(0)
    clock.now += 11
    expect(c.msLeft('ip_attempts:198.51.100.7')).toBe(0)
    expect(c.size()).toBe(0)
  })

  it('keeps at most maxEntries keys, the most recently blocked', () => {
    const clock = { now: Date.parse('2026-12-07T08:00:00Z') }
    const c = createBlockCache(2, () => clock.now)
    c.add('a', 1000)
    c.add('b', 1000)
    c.add('a', 5000) // blocked again: now the newest
    c.add('c', 1000)
    expect(c.size()).toBe(2)
    expect(c.msLeft('b')).toBe(0)
    expect(c.msLeft('a')).toBe(5000)
    c.delete('a')
    expect(c.msLeft('a')).toBe(0)
  })
})
