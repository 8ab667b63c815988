// A rate-limiter-flexible counter changed by a script of our own: the same key, value and expiry
// as RateLimiterRedis's script (a fixed window from the first point), so rate-limiter-flexible
// still reads, blocks and deletes the counter. Written here so that a login's counters go through
// defineScript, which sends every script of a tick as one command; rate-limiter-flexible sends
// its own EVALSHA per counter. While Redis fails, the counter's insurance limiter answers, as
// rate-limiter-flexible's would.
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

/** The count after the change (a reset reads 0, -1 ms). Never throws for Redis' sake. */
export type ChangeCounter = (c: CounterChange) => Promise<Counted>

// KEYS[1]: the counter. ARGV: the change ('reset' or points), the window in seconds. A count
// creates the key with the window as its expiry; a refund never creates one and never leaves a
// key at zero or below (deleted: the next count starts a fresh window, as with no key). Two
// commands per count and one per refund, where rate-limiter-flexible's script takes three:
// inside Redis, each command a script calls costs more than the command itself.
const CHANGE = `
local k, change, duration = KEYS[1], ARGV[1], ARGV[2]
if change == 'reset' then
  redis.call('DEL', k)
  return {0, -1}
end
change = tonumber(change)
if change < 0 then
  local left = redis.call('DECRBY', k, -change)
  if left <= 0 then
    redis.call('DEL', k)
    left = 0
  end
  return {left, -1}
end
local consumed = redis.call('INCRBY', k, change)
if consumed == change then
  redis.call('EXPIRE', k, duration)
  return {consumed, 1000 * duration}
end
local ttl = redis.call('PTTL', k)
if ttl == -1 then
  redis.call('EXPIRE', k, duration)
  ttl = 1000 * duration
end
return {consumed, ttl}`

const counted = (res: RateLimiterRes | undefined): Counted => ({ consumed: res?.consumedPoints ?? 0, msBeforeNext: res?.msBeforeNext ?? -1 })

/** The change made through rate-limiter-flexible's own API: in memory, or by an insurance limiter. */
export async function changeThrough (limiter: Counter, key: string, change: CounterChange['change']): Promise<Counted> {
  if (change === 'reset') {
    await limiter.delete(key)
    return counted(undefined)
  }
  return counted(change >= 0 ? await increment(limiter, key) : await limiter.reward(key, -change))
}

// Redis could not be asked: the counter's insurance limiter answers.
const insured = async (c: CounterChange): Promise<Counted> => await changeThrough(insuranceOf(c.counter) ?? c.counter, c.key, c.change)

export function createCounterScript (redis: RedisClient): ChangeCounter {
  const script = defineScript(redis, 'lgCounterChange', 1, CHANGE)
  return async c => {
    // rate-limiter-flexible's rejectIfRedisNotReady: no command while disconnected.
    if (redis.status !== 'ready') return await insured(c)
    return await script([c.counter.getKey(c.key)], [c.change, c.durationS]).then(
      reply => ({ consumed: Number((reply as number[])[0]), msBeforeNext: Number((reply as number[])[1]) }),
      async () => await insured(c))
  }
}
