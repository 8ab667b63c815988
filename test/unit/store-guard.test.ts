import { describe, expect, it } from 'vitest'
import { blamesRedis, LATE_TIMER_MS } from '../../src/infra/store-guard.js'

const timedOut = new Error('Command timed out')

describe('blamesRedis', () => {
  it('blames Redis for a timeout whose timer fired on time', () => {
    expect(blamesRedis(timedOut, 100, 100)).toBe(true)
    expect(blamesRedis(timedOut, 100 + LATE_TIMER_MS, 100)).toBe(true)
  })

  it('blames the gateway\'s own loop for a timeout whose timer fired late', () => {
    expect(blamesRedis(timedOut, 100 + LATE_TIMER_MS + 1, 100)).toBe(false)
    expect(blamesRedis(timedOut, 900, 250)).toBe(false)
  })

  it('always blames Redis for a failure other than a timeout, however long it took', () => {
    expect(blamesRedis(new Error('Connection is closed.'), 900, 100)).toBe(true)
    expect(blamesRedis(new Error("Stream isn't writeable and enableOfflineQueue options is false"), 0, 100)).toBe(true)
    expect(blamesRedis('Command timed out', 900, 100)).toBe(true) // not an Error: not ioredis's timeout
  })
})
