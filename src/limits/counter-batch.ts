// Several rate-limiter-flexible counters changed by one Lua script: one Redis command per login
// stage instead of one per counter. The same keys and arithmetic as RateLimiterRedis's own script
// (SET NX EX, INCRBY, PTTL), so rate-limiter-flexible still reads, blocks and deletes these
// counters; written here because rate-limiter-flexible changes one key per command. Not on a
// Cluster (the counters sit in different slots). When the script fails, every counter's own
// insurance limiter answers, as rate-limiter-flexible's would.
import { type RateLimiterRes } from 'rate-limiter-flexible'
import { type RedisClient } from '../infra/redis.js'
import { defineScript } from '../infra/redis-script.js'
import { type Counter, increment, insuranceOf } from './counter.js'

export interface CounterChange {
  counter: Counter
  durationS: number
  key: string
  /** Points to add (negative: a refund), or `reset` (the key deleted). */
  change: number | 'reset'
}

export interface Counted {
  consumed: number
  msBeforeNext: number
}

/** Applies the changes in order; the counts after them (a reset reads 0, -1 ms). */
export type CounterBatch = (changes: readonly CounterChange[]) => Promise<Counted[]>

// KEYS: counter keys. ARGV: a change ('reset' or points) and the window in seconds per key.
const CHANGE = `
local out = {}
for i = 1, #KEYS do
  local k, change, duration = KEYS[i], ARGV[2 * i - 1], ARGV[2 * i]
  if change == 'reset' then
    redis.call('DEL', k)
    out[2 * i - 1] = 0
    out[2 * i] = -1
  else
    redis.call('SET', k, 0, 'EX', duration, 'NX')
    out[2 * i - 1] = redis.call('INCRBY', k, change)
    local ttl = redis.call('PTTL', k)
    if ttl == -1 then
      redis.call('EXPIRE', k, duration)
      ttl = 1000 * duration
    end
    out[2 * i] = ttl
  end
end
return out`

const counted = (res: RateLimiterRes | undefined): Counted => ({ consumed: res?.consumedPoints ?? 0, msBeforeNext: res?.msBeforeNext ?? -1 })

/** What the insurance limiters say, counter by counter: Redis could not be asked. */
async function insured (changes: readonly CounterChange[]): Promise<Counted[]> {
  return await Promise.all(changes.map(async c => {
    const insurance = insuranceOf(c.counter) ?? c.counter
    if (c.change === 'reset') {
      await insurance.delete(c.key)
      return counted(undefined)
    }
    return c.change >= 0 ? counted(await increment(insurance, c.key)) : counted(await insurance.reward(c.key, -c.change))
  }))
}

export function createCounterBatch (redis: RedisClient): CounterBatch {
  const script = defineScript(redis, 'lgCountersChange', null, CHANGE)
  return async changes => {
    if (changes.length === 0) return []
    // rate-limiter-flexible's rejectIfRedisNotReady: no command while disconnected.
    if (redis.status !== 'ready') return await insured(changes)
    let reply: unknown
    try {
      reply = await script(changes.map(c => c.counter.getKey(c.key)), changes.flatMap(c => [c.change, c.durationS]))
    } catch {
      return await insured(changes)
    }
    const values = reply as number[]
    return changes.map((_, i) => ({ consumed: Number(values[2 * i]), msBeforeNext: Number(values[2 * i + 1]) }))
  }
}
