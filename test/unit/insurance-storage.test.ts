// The bounded storage of the in-process counts (src/limits/insurance-storage.ts): the windows
// rate-limiter-flexible's MemoryStorage keeps, within one bound for every counter.
import { describe, expect, it } from 'vitest'
import { createCounter, increment } from '../../src/limits/counter.js'
import { createInsuranceStorage } from '../../src/limits/insurance-storage.js'

function clock (start = 1_800_000_000_003) {
  let t = start
  return { now: () => t, advance: (ms: number) => { t += ms } }
}

describe('the in-process counts', () => {
  it('count in a fixed window from the first point, and start a new one once it has ended', () => {
    const c = clock()
    const s = createInsuranceStorage(10, c.now)
    expect(s.incrby('k', 1, 60)).toMatchObject({ consumedPoints: 1, msBeforeNext: 60_000, isFirstInDuration: true })
    c.advance(15_000)
    expect(s.incrby('k', 2, 60)).toMatchObject({ consumedPoints: 3, msBeforeNext: 45_000, isFirstInDuration: false })
    expect(s.incrby('k', -1, 60)).toMatchObject({ consumedPoints: 2 }) // a refund
    c.advance(44_999)
    expect(s.get('k')).toMatchObject({ consumedPoints: 2, msBeforeNext: 1 })
    c.advance(1)
    expect(s.get('k')).toBeNull()
    expect(s.incrby('k', 1, 60)).toMatchObject({ consumedPoints: 1, msBeforeNext: 60_000, isFirstInDuration: true })
  })

  it('set a value for a block or for good, and delete it', () => {
    const c = clock()
    const s = createInsuranceStorage(10, c.now)
    expect(s.set('b', 7, 300)).toMatchObject({ consumedPoints: 7, msBeforeNext: 300_000 })
    expect(s.set('f', 1, 0)).toMatchObject({ consumedPoints: 1, msBeforeNext: -1 })
    c.advance(10 * 86_400_000)
    expect(s.get('b')).toBeNull()
    expect(s.get('f')).toMatchObject({ consumedPoints: 1, msBeforeNext: -1 })
    expect(s.delete('f')).toBe(true)
    expect(s.delete('f')).toBe(false)
    expect(s.get('f')).toBeNull()
  })

  it('hold at most their bound: keys counted once go first, oldest first, and keys counted again last', () => {
    const s = createInsuranceStorage(3, clock().now)
    s.incrby('hammered', 1, 60)
    s.incrby('hammered', 1, 60) // counted again: protected
    s.set('blocked', 5, 300) // a block: protected
    s.incrby('a', 1, 60)
    s.incrby('b', 1, 60) // pushes out a, the oldest key counted once
    expect(s.size).toBe(3)
    expect(s.get('a')).toBeNull()
    for (let i = 0; i < 1000; i++) s.incrby(`flood-${i}`, 1, 60)
    expect(s.size).toBe(3)
    expect(s.get('hammered')).toMatchObject({ consumedPoints: 2 })
    expect(s.get('blocked')).toMatchObject({ consumedPoints: 5 })
    // Only keys counted again left: the least recently counted of them goes.
    s.incrby('flood-999', 1, 60)
    s.incrby('hammered', 1, 60)
    s.incrby('new', 1, 60)
    s.incrby('new', 1, 60)
    expect(s.get('blocked')).toBeNull()
    expect(s.get('hammered')).toMatchObject({ consumedPoints: 3 })
  })

  it('sweep expired keys as they write, so that an outage leaves nothing behind for long', () => {
    const c = clock()
    const s = createInsuranceStorage(100_000, c.now)
    for (let i = 0; i < 5000; i++) s.incrby(`old-${i}`, 1, 60)
    c.advance(61_000)
    for (let i = 0; i < 5000; i++) s.incrby(`new-${i}`, 1, 60)
    expect(s.size).toBeLessThan(10_000)
    expect(s.get('old-4999')).toBeNull()
  })

  it('are where rate-limiter-flexible keeps a counter without Redis, which still refuses past its budget', async () => {
    const storage = createInsuranceStorage(100)
    const counter = createCounter({ redis: null, keyPrefix: 'x', points: 2, durationS: 60, replicas: 1, onInsurance: () => {}, storage })
    const counts = []
    for (let i = 0; i < 3; i++) counts.push((await increment(counter, 'k')).consumedPoints)
    expect(counts).toEqual([1, 2, 3])
    expect(storage.get('x:k')).toMatchObject({ consumedPoints: 3 })
    await expect(counter.consume('k')).rejects.toMatchObject({ consumedPoints: 4, remainingPoints: 0 })
    for (let i = 0; i < 500; i++) await increment(counter, `other-${i}`)
    expect(storage.size).toBe(100)
    expect(storage.get('x:k')).toMatchObject({ consumedPoints: 4 })
  })
})
