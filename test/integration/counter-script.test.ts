// The limit counters' script (src/limits/counter-script.ts) on a real redis-server: a count opens
// a window on a new key, a refund never leaves a zero or creates a key, and a counter Redis fails
// falls to its insurance limiter alone while the others stand as Redis counted them.
import { describe, expect, it, onTestFinished } from 'vitest'
import { createMetrics } from '../../src/infra/metrics.js'
import { createInsuranceStorage } from '../../src/limits/insurance-storage.js'
import { createLimitCounters } from '../../src/limits/limit-counters.js'
import { DEFAULT_LIMITS, type LimitKey } from '../../src/limits/limit-policy.js'
import { gatewayClient } from '../helpers/redis-probe.js'
import { startRedisServer } from '../helpers/redis-server.js'

async function countersOnRedis () {
  const server = await startRedisServer()
  onTestFinished(async () => { await server.stop() })
  const redis = await gatewayClient(server.url)
  const metrics = createMetrics()
  const counters = createLimitCounters({ redis, keyPrefix: 't:', limits: DEFAULT_LIMITS, shared: { multiplier: 10 }, replicas: 1, metrics, storage: createInsuranceStorage(1000) })
  return { redis, counters, metrics }
}

const ip: LimitKey = { name: 'ip_attempts', key: '198.51.100.1' }
const failures: LimitKey = { name: 'ip_failures', key: '198.51.100.1' }
const keyOf = (k: LimitKey) => `t:rl:${k.name}:${k.key}`

describe('limit counters in Redis', () => {
  it('open a window on a new key, count within it, and read what rate-limiter-flexible reads', async () => {
    const { redis, counters } = await countersOnRedis()
    const [first] = await counters.consume([ip])
    expect(first).toMatchObject({ name: 'ip_attempts', key: ip.key, consumed: 1, msBeforeNext: 60_000 })
    const [second] = await counters.consume([ip])
    expect(second?.consumed).toBe(2)
    expect(second?.msBeforeNext).toBeGreaterThan(58_000)
    expect(second?.msBeforeNext).toBeLessThanOrEqual(60_000)
    expect(await redis.get(keyOf(ip))).toBe('2')
    expect(await redis.pttl(keyOf(ip))).toBeGreaterThan(58_000)
    expect(await counters.peek(ip)).toMatchObject({ consumed: 2 })
  })

  it('delete a counter a refund brings to zero, and never create one to refund', async () => {
    const { redis, counters } = await countersOnRedis()
    await counters.consume([failures, failures])
    await counters.settle([failures], [])
    expect(await redis.get(keyOf(failures))).toBe('1')
    await counters.settle([failures], [])
    expect(await redis.exists(keyOf(failures))).toBe(0)
    await counters.settle([failures, ip], [])
    expect(await redis.exists(keyOf(failures), keyOf(ip))).toBe(0)
  })

  it('answer a counter Redis fails from its insurance alone; the others stand as Redis counted them', async () => {
    const { redis, counters, metrics } = await countersOnRedis()
    await redis.hset(keyOf(failures), 'x', '1') // WRONGTYPE for this counter only
    const observed = await counters.consume([ip, failures])
    expect(observed.map(o => o.consumed)).toEqual([1, 1])
    expect(await redis.get(keyOf(ip))).toBe('1')
    expect(await redis.hget(keyOf(failures), 'x')).toBe('1')
    expect((await metrics.registry.metrics())).toMatch(/lg_limit_insurance_total\{limit="ip_failures"\} 1\b/)
    expect((await metrics.registry.metrics())).not.toMatch(/lg_limit_insurance_total\{limit="ip_attempts"\}/)
  })
})
