// The script dispatcher (src/infra/redis-script.ts): scripts called in one tick reach Redis as
// one command, each keeps its own result and its own failure, and Redis restarting (its script
// cache gone) costs nothing but one EVAL.
import { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { defineScript } from '../../src/infra/redis-script.js'
import { gatewayClient } from '../helpers/redis-probe.js'
import { startRedisServer } from '../helpers/redis-server.js'

async function client () {
  const server = await startRedisServer()
  onTestFinished(async () => { await server.stop() })
  const redis = await gatewayClient(server.url)
  const admin = new Redis(server.url)
  onTestFinished(() => { admin.disconnect() })
  const scriptCalls = async () => [...(await admin.info('commandstats')).matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0)
  return { redis, admin, scriptCalls }
}

describe('Redis scripts called together', () => {
  it('run as one command, each with its own result or its own error', async () => {
    const { redis, admin, scriptCalls } = await client()
    const setGet = defineScript(redis, 'setGet', 1, "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])")
    const sum = defineScript(redis, 'sum', 3, "local n = 0 for i = 1, #KEYS do n = n + redis.call('INCRBY', KEYS[i], ARGV[i]) end return {n, #KEYS}")
    const incr = defineScript(redis, 'incr', 1, "return redis.call('INCR', KEYS[1])")
    const nothing = defineScript(redis, 'nothing', 1, "local v = redis.call('GET', KEYS[1]) if v then return v end return nil")
    await admin.set('text', 'not a number')
    await nothing(['warm-up'], []) // the first call loads the dispatcher (EVALSHA, then EVAL)
    const before = await scriptCalls()

    const results = await Promise.allSettled([
      setGet(['a'], ['one']), sum(['x', 'y', 'z'], [1, 2, 3]), incr(['text'], []), nothing(['missing'], []), setGet(['b'], ['two'])
    ])

    expect(results.map(r => r.status === 'fulfilled' ? r.value : (r.reason as Error).message)).toEqual([
      'one', [6, 3], expect.stringMatching(/not an integer/), null, 'two'
    ])
    expect(await scriptCalls() - before).toBe(1)
    // The failing script did not undo or stop the others.
    expect(await admin.mget('a', 'b', 'x', 'z')).toEqual(['one', 'two', '1', '3'])
  })

  it('load themselves again after Redis forgot its scripts, and take scripts defined later', async () => {
    const { redis, admin } = await client()
    const incr = defineScript(redis, 'incr', 1, "return redis.call('INCR', KEYS[1])")
    expect(await incr(['n'], [])).toBe(1)
    await admin.script('FLUSH')
    expect(await incr(['n'], [])).toBe(2)
    const decr = defineScript(redis, 'decr', 1, "return redis.call('DECR', KEYS[1])")
    expect(await Promise.all([incr(['n'], []), decr(['n'], [])])).toEqual([3, 2])
  })
})
