import { describe, expect, it } from 'vitest'
import { apportion, scaleModel, splitLoad, staggerPlan } from '../../bench/traffic/mix.js'
import { ATTACK_MIX } from '../../bench/scenarios/credential-stuffing.js'

describe('the traffic mix', () => {
  it('apportions a total by weight, keeping the sum and giving every weighted class at least one', () => {
    // The minimum of one goes first: the 5% class takes the unit the 35% class would have rounded up to.
    expect(apportion(10, [0.4, 0.35, 0.1, 0.1, 0.05])).toEqual([4, 3, 1, 1, 1])
    expect(apportion(100, [1, 1, 1])).toEqual([34, 33, 33])
    expect(apportion(7, [1, 0, 1])).toEqual([4, 0, 3])
    expect(apportion(5, [0, 0])).toEqual([0, 0])
    const split = apportion(400, ATTACK_MIX.map(m => m.weight))
    expect(split.reduce((a, b) => a + b, 0)).toBe(400)
    expect(split).toEqual([160, 126, 14, 40, 40, 20])
  })

  it('splits a closed model into connections per class and drops classes without weight', () => {
    const loads = splitLoad([{ cls: 'honest', weight: 3 }, { cls: 'bot', weight: 1 }, { cls: 'stuffing', weight: 0 }], { kind: 'closed', connections: 20 })
    expect(loads).toEqual([{ cls: 'honest', connections: 15 }, { cls: 'bot', connections: 5 }])
  })

  it('gives each open-model class its share of the rate and enough connections to keep it, never more than its rate', () => {
    const loads = splitLoad(ATTACK_MIX, { kind: 'open', rate: 400 })
    expect(loads.map(l => l.rate)).toEqual([160, 126, 14, 40, 40, 20])
    for (const l of loads) {
      expect(l.connections).toBeGreaterThanOrEqual(1)
      expect(l.connections).toBeLessThanOrEqual(l.rate ?? 0)
    }
    const given = splitLoad([{ cls: 'honest', weight: 1 }], { kind: 'open', rate: 50, connections: 8 })
    expect(given).toEqual([{ cls: 'honest', rate: 50, connections: 8 }])
    // A rate below the number of connections asked for: autocannon needs a request/s per connection.
    expect(splitLoad([{ cls: 'honest', weight: 1 }], { kind: 'open', rate: 3, connections: 10 })[0]?.connections).toBe(3)
  })

  it('scales a storm from a baseline, never to zero', () => {
    expect(scaleModel({ kind: 'open', rate: 300 }, 0.1)).toEqual({ kind: 'open', rate: 30 })
    expect(scaleModel({ kind: 'closed', connections: 5 }, 0.1)).toEqual({ kind: 'closed', connections: 1 })
    expect(scaleModel({ kind: 'open', rate: 200, connections: 40 }, 0.5)).toEqual({ kind: 'open', rate: 100, connections: 20 })
  })

  it('paces an open-model class over instances started evenly through each second', () => {
    const plan = staggerPlan(300, 75)
    expect(plan).toHaveLength(20)
    expect(plan.reduce((a, p) => a + p.rate, 0)).toBe(300)
    expect(plan.reduce((a, p) => a + p.connections, 0)).toBe(75)
    expect(plan.map(p => p.offsetMs)).toEqual(Array.from({ length: 20 }, (_, i) => i * 50))
    // Small loads cannot be split further than one request/s and one connection per instance.
    expect(staggerPlan(3, 10).map(p => p.rate)).toEqual([1, 1, 1])
    expect(staggerPlan(100, 2)).toEqual([{ rate: 50, connections: 1, offsetMs: 0 }, { rate: 50, connections: 1, offsetMs: 500 }])
  })
})
