// The velocity windows in Redis (src/bots/velocity.ts) read exactly what the in-memory ones do,
// slide the same way, and leave nothing behind: old buckets' fields go, and taking a failure back
// never creates a key.
import { describe, expect, it, onTestFinished } from 'vitest'
import { createVelocity, type VelocitySubject } from '../../src/bots/velocity.js'
import { gatewayClient } from '../helpers/redis-probe.js'
import { startRedisServer } from '../helpers/redis-server.js'

async function redisClient () {
  const server = await startRedisServer()
  onTestFinished(async () => { await server.stop() })
  return await gatewayClient(server.url)
}

const at = (ip: string, user: string, device?: string): VelocitySubject =>
  ({ ipKey: ip, subnet: ip.replace(/\.\d+$/, '.0/24'), userKey: user, ...(device === undefined ? {} : { deviceKey: device }) })
// IPv6: the /64 is both the address and its network (one subject, not two).
const at6 = (net: string, user: string): VelocitySubject => ({ ipKey: net, subnet: net, userKey: user })

describe('velocity in Redis', () => {
  it('reads what the in-memory windows read, over a window that slides', async () => {
    const redis = await redisClient()
    let now = 1_000_000
    const options = { keyPrefix: 't:', windowS: 60, now: () => now, maxEntries: 1000 }
    const inRedis = createVelocity({ ...options, redis })
    const inMemory = createVelocity({ ...options, redis: null })
    const steps: Array<{ kind: 'observe' | 'success', s: VelocitySubject, advanceMs: number }> = []
    for (let i = 0; i < 40; i++) {
      const s = i % 6 === 5 ? at6(`2001:db8:0:${i % 2}::/64`, `u${i % 9}`) : at(`198.51.100.${i % 4}`, `u${i % 9}`, i % 5 === 0 ? 'dev-a' : undefined)
      steps.push({ kind: i % 7 === 3 ? 'success' : 'observe', s, advanceMs: 2_500 })
    }
    for (const step of steps) {
      if (step.kind === 'success') {
        await Promise.all([inRedis.notFailure(step.s), inMemory.notFailure(step.s)])
      } else {
        const [fromRedis, fromMemory] = await Promise.all([inRedis.observe(step.s), inMemory.observe(step.s)])
        expect(fromRedis).toEqual(fromMemory)
      }
      now += step.advanceMs // 40 steps of 2.5 s: the 60 s window slides past its first buckets
    }
    const last = await inRedis.observe(at('198.51.100.1', 'u1'))
    expect(last?.attemptsPerSubnet).toBeGreaterThan(10)
    expect(last?.attemptsPerSubnet).toBeLessThan(40) // the first attempts left the window
  })

  it('drops the fields of buckets that left the window, and never creates a key to take a failure back', async () => {
    const redis = await redisClient()
    let now = 6_000_000
    const v = createVelocity({ redis, keyPrefix: 't:', windowS: 60, now: () => now, maxEntries: 1000 })
    const s = at('203.0.113.7', 'alice')
    for (let i = 0; i < 30; i++) {
      await v.observe(s)
      now += 6_000 // one bucket per attempt: 30 buckets, the window holds 10
    }
    const fields = await redis.hkeys('t:vel:{ip:203.0.113.7}:w')
    expect(fields.length).toBeGreaterThan(0)
    expect(fields.length).toBeLessThanOrEqual(20) // attempts and failures of the last ten buckets at most
    // The buckets' HyperLogLogs are named after the window's key (replicas of any version share them).
    const buckets = await redis.keys('t:vel:{ip:203.0.113.7}:*')
    expect(buckets.filter(k => !k.endsWith(':w')).length).toBeGreaterThan(0)
    for (const k of buckets) expect(k).toMatch(/^t:vel:\{ip:203\.0\.113\.7\}:(w|\d+:u)$/)

    await v.notFailure(at('192.0.2.1', 'nobody'))
    expect(await redis.keys('t:vel:{*192.0.2.*')).toEqual([])
  })

  it('counts only the buckets inside the window: a replica ahead keeps its bucket, a field not of ours goes', async () => {
    const redis = await redisClient()
    const now = 6_000_000 // bucket 1000 of a 60 s window
    const v = createVelocity({ redis, keyPrefix: 't:', windowS: 60, now: () => now, maxEntries: 1000 })
    const window = 't:vel:{ip:203.0.113.8}:w'
    // A replica whose clock runs a bucket ahead, a bucket that left the window, one at its edge,
    // strangers (by name, and by a value that is no number), and the username's own window.
    await redis.hset(window, { a1001: 5, a990: 7, a991: 2, f991: 1, f995: 'oops', x995: 4, junk: 3 })
    await redis.hset('t:vel:{user:alice}:w', { a999: 2, f999: 9 })
    const read = await v.observe(at('203.0.113.8', 'alice'))
    expect(read?.attemptsPerIp).toBe(3) // this attempt and bucket 991's two
    expect(read?.failureRatioPerIp).toBeCloseTo(2 / 3)
    expect(read?.attemptsPerUsername).toBe(3) // a username's failures are not counted here, its attempts are
    expect((await redis.hkeys(window)).sort()).toEqual(['a1000', 'a1001', 'a991', 'f1000', 'f991', 'f995'])
    expect(await redis.ttl(window)).toBeGreaterThan(0)
  })
})
