import { describe, expect, it } from 'vitest'
import { dropOldest } from '../../src/infra/oldest-first.js'
import { smallTicks } from '../../src/infra/small-ticks.js'

describe('dropOldest', () => {
  it('drops from the front down to the cap, and past it only what is no longer live', () => {
    const m = new Map([['a', 1], ['b', 5], ['c', 2], ['d', 9], ['e', 3]])
    dropOldest(m, 4)
    expect([...m.keys()]).toEqual(['b', 'c', 'd', 'e'])
    // Live means "value > at": b and c go; d is live, so e, stale behind it, waits its turn.
    dropOldest(m, 10, (v, at) => v > at, 6)
    expect([...m.keys()]).toEqual(['d', 'e'])
    dropOldest(m, 1) // the cap alone: d goes as the oldest, though live
    expect([...m.keys()]).toEqual(['e'])
  })
})

describe('smallTicks', () => {
  it('counts ticks as small integers from a day before it was made, rounding either way', () => {
    const t0 = Date.parse('2026-12-07T08:00:00.000Z')
    const ticks = smallTicks(() => t0, 10)
    expect(ticks.floor(t0)).toBe(8_640_000)
    expect(ticks.ceil(t0 + 1)).toBe(8_640_001)
    expect(ticks.floor(t0 + 19)).toBe(8_640_001)
    expect(ticks.start(ticks.ceil(t0 + 60_001))).toBe(t0 + 60_010)
    expect(ticks.floor(t0 - 3_600_000)).toBeGreaterThan(0) // a test clock set back stays positive
  })
})
