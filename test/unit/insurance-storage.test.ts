// The bounded storage of the in-process counts (src/limits/insurance-storage.ts): the windows
// rate-limiter-flexible's MemoryStorage keeps, within one bound for every counter.
import { describe, expect, it } from 'vitest'
import { createCounter, increment } from '../../src/limits/counter.js'
import { createInsuranceStorage } from '../../src/limits/insurance-storage.js'

function clock (start = 1_800_000_000_000) {
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
    expect(s.get('k')).toMatchObject({ consumedPoints: 2, msBeforeNext: 45_000 })
    c.advance(45_000)
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

  it('hold at most their bound, forgetting the key written least recently first', () => {
    const s = createInsuranceStorage(3, clock().now)
    for (const k of ['a', 'b', 'c']) s.incrby(k, 1, 60)
    s.incrby('a', 1, 60) // a key being hammered stays
    s.incrby('d', 1, 60)
    expect(s.size).toBe(3)
    expect(s.get('b')).toBeNull()
    expect(s.get('a')).toMatchObject({ consumedPoints: 2 })
    for (let i = 0; i < 1000; i++) s.incrby(`flood-${i}`, 1, 60)
    expect(s.size).toBe(3)
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
  })
})
