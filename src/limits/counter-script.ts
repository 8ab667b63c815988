// rate-limiter-flexible counters changed by a script of our own: the same key, value and expiry
// as RateLimiterRedis's script (a fixed window from the first point), so rate-limiter-flexible
// still reads, blocks and deletes the counter. Written here so that all the counters a login
// changes go to Redis as one script call (one per counter on a Cluster), where
// rate-limiter-flexible sends an EVALSHA of its own per counter. A counter Redis fails, alone or
// with the rest, is answered by its insurance limiter, as rate-limiter-flexible's would.
import { type RateLimiterRes } from 'rate-limiter-flexible'
import { type RedisClient } from '../infra/redis.js'
import { defineItemsScript } from '../infra/redis-items-script.js'
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

// One counter (an item of the login's call): keys[1], args: the change ('reset' or points), the
// window in seconds. Returns {consumed, ms left}. A count creates the key with the window as its
// expiry; a refund never creates one and never leaves a key at zero or below (deleted: the next
// count starts a fresh window, as with no key). Two commands per count and one or two per refund,
// where rate-limiter-flexible's script takes three: inside Redis, each command a script calls
// costs more than the command itself.
const CHANGE = `
local k, change, duration = keys[1], args[1], args[2]
if change == 'reset' then
  redis.call('DEL', k)
  return {0, -1}
end
change = tonumber(change)
if change < 0 then
  local left = redis.call('DECRBY', k, -change)
  if left > 0 then return {left, -1} end
  redis.call('DEL', k)
  return {0, -1}
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

// A counter's reply from the script, or undefined when Redis failed it.
const fromRedis = (reply: unknown[] | Error | undefined): Counted | undefined =>
  reply === undefined || reply instanceof Error ? undefined : { consumed: Number(reply[0]), msBeforeNext: Number(reply[1]) }

// Redis could not be asked: the counter's insurance limiter answers.
const insured = async (c: CounterChange): Promise<Counted> => await changeThrough(insuranceOf(c.counter) ?? c.counter, c.key, c.change)

export function createCounterScript (redis: RedisClient): ChangeCounters {
  const script = defineItemsScript(redis, 'lgCountersChange', { keys: 1, args: 2, reply: 2 }, 0, CHANGE)
  return async changes => {
    // rate-limiter-flexible's rejectIfRedisNotReady: no command while disconnected.
    if (redis.status !== 'ready') return await Promise.all(changes.map(insured))
    const replies = await script(changes.map(c => ({ keys: [c.counter.getKey(c.key)], args: [c.change, c.durationS] })), [])
    const counts = changes.map((_, i) => fromRedis(replies[i]))
    // The usual case, every counter answered: no promise per counter.
    if (counts.every((c): c is Counted => c !== undefined)) return counts
    // Each counter Redis failed falls to its insurance alone; the others stand as Redis counted them.
    return await Promise.all(changes.map(async (c, i) => counts[i] ?? await insured(c)))
  }
}
