// rate-limiter-flexible counters changed by a script of our own: the same key, value and expiry
// as RateLimiterRedis's script (a fixed window from the first point), so rate-limiter-flexible
// still reads, blocks and deletes the counter. Written here so that all the counters a login
// changes go to Redis as one script call (one per counter on a Cluster), where
// rate-limiter-flexible sends an EVALSHA of its own per counter. While Redis fails, each
// counter's insurance limiter answers, as rate-limiter-flexible's would.
import { type RateLimiterRes } from 'rate-limiter-flexible'
import { type RedisClient } from '../infra/redis.js'
import { definePerKeyScript } from '../infra/redis-script.js'
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

/** The counts after the changes, in order (a reset or refund reads -1 ms). Never throws for Redis' sake. */
export type ChangeCounters = (changes: readonly CounterChange[]) => Promise<Counted[]>

// KEYS: the counters. ARGV per key: the change ('reset' or points), the window in seconds.
// Returns {consumed, ms left} per key. A count creates the key with the window as its expiry; a
// refund never creates one and never leaves a key at zero or below (deleted: the next count
// starts a fresh window, as with no key). Two commands per count and one per refund, where
// rate-limiter-flexible's script takes three: inside Redis, each command a script calls costs
// more than the command itself.
const CHANGE = `
local out = {}
for i, k in ipairs(KEYS) do
  local change, duration = ARGV[2 * i - 1], ARGV[2 * i]
  local consumed, ttl = 0, -1
  if change == 'reset' then
    redis.call('DEL', k)
  elseif tonumber(change) < 0 then
    consumed = redis.call('DECRBY', k, -tonumber(change))
    if consumed <= 0 then
      redis.call('DEL', k)
      consumed = 0
    end
  else
    consumed = redis.call('INCRBY', k, change)
    if consumed == tonumber(change) then
      redis.call('EXPIRE', k, duration)
      ttl = 1000 * duration
    else
      ttl = redis.call('PTTL', k)
      if ttl == -1 then
        redis.call('EXPIRE', k, duration)
        ttl = 1000 * duration
      end
    end
  end
  out[2 * i - 1] = consumed
  out[2 * i] = ttl
end
return out`

const counted = (res: RateLimiterRes | undefined): Counted => ({ consumed: res?.consumedPoints ?? 0, msBeforeNext: res?.msBeforeNext ?? -1 })

/** The change made through rate-limiter-flexible's own API: in memory, or by an insurance limiter. */
export async function changeThrough (limiter: Counter, key: string, change: CounterChange['change']): Promise<Counted> {
  if (change === 'reset') {
    await limiter.delete(key)
    return counted(undefined)
  }
  return counted(change >= 0 ? await increment(limiter, key) : await limiter.reward(key, -change))
}

// Redis could not be asked: each counter's insurance limiter answers.
const insured = async (changes: readonly CounterChange[]): Promise<Counted[]> =>
  await Promise.all(changes.map(async c => await changeThrough(insuranceOf(c.counter) ?? c.counter, c.key, c.change)))

export function createCounterScript (redis: RedisClient): ChangeCounters {
  const script = definePerKeyScript(redis, 'lgCountersChange', 2, CHANGE)
  return async changes => {
    if (changes.length === 0) return []
    // rate-limiter-flexible's rejectIfRedisNotReady: no command while disconnected.
    if (redis.status !== 'ready') return await insured(changes)
    const keys: string[] = []
    const args: Array<string | number> = []
    for (const c of changes) {
      keys.push(c.counter.getKey(c.key))
      args.push(c.change, c.durationS)
    }
    let reply: unknown[]
    try {
      reply = await script(keys, [], args)
    } catch {
      return await insured(changes)
    }
    return changes.map((_, i) => ({ consumed: Number(reply[2 * i]), msBeforeNext: Number(reply[2 * i + 1]) }))
  }
}
