import { describe, expect, it } from 'vitest'
import { memoize } from '../../src/infra/memo.js'

describe('memoize', () => {
  it('computes each input once while it is kept, and answers what the function answers', () => {
    const calls: string[] = []
    const upper = memoize((s: string) => { calls.push(s); return s.toUpperCase() }, 10)
    expect([upper('a'), upper('b'), upper('a'), upper('b')]).toEqual(['A', 'B', 'A', 'B'])
    expect(calls).toEqual(['a', 'b'])
  })

  it('keeps at most maxEntries inputs: the oldest are computed again', () => {
    const calls: string[] = []
    const id = memoize((s: string) => { calls.push(s); return s }, 10)
    for (let i = 0; i < 100; i++) id(`k${i}`)
    expect(calls).toHaveLength(100)
    id('k99') // recent: kept
    id('k90')
    id('k89') // ten back: gone
    id('k0')
    expect(calls.slice(100)).toEqual(['k89', 'k0'])
  })

  it('keeps an input that is used often, however many others pass', () => {
    let computed = 0
    const id = memoize((s: string) => { if (s === 'hot') computed++; return s }, 4)
    for (let i = 0; i < 1000; i++) { id('hot'); id(`cold${i}`) }
    expect(computed).toBe(1)
  })
})
