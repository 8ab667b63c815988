// Shared egress addresses (carrier NAT, offices): an address from which many distinct users log
// in successfully gets a larger IP-wide budget. Distinct users per address per day are counted
// in a Redis HyperLogLog (12 KiB at most, whatever the crowd), with an in-process cache in front.
import { type RedisClient } from '../infra/redis.js'
import { type Logger } from 'pino'
import { type Metrics } from '../infra/metrics.js'
import { dropOldest } from '../infra/oldest-first.js'
import { defineScript } from '../infra/redis-script.js'
import { smallTicks } from '../infra/small-ticks.js'

export interface SharedAddresses {
  /** What this process knows without asking Redis: shared, not shared, or undefined. */
  known: (ipKey: string) => boolean | undefined
  /** Asks the store (one command) and remembers the answer. */
  lookup: (ipKey: string) => Promise<boolean>
  /** Counts a successful login of the user from the address. */
  recordSuccess: (ipKey: string, userKey: string) => Promise<void>
}

export interface SharedAddressOptions {
  redis: RedisClient | null
  keyPrefix: string
  /** Distinct successful users per day that make an address shared. */
  minUsers: number
  cacheTtlMs: number
  maxEntries: number
  log: Logger
  metrics: Metrics
  now: () => number
}

const DAY_S = 86_400

// Adds the user and returns the distinct count; the day starts with the first success. TTL -1:
// the key has no expiry yet (EXPIRE's NX option would say so, but needs Redis 7). Only a
// change can have created the key: a user seen before costs no TTL check.
const ADD = `
if redis.call('PFADD', KEYS[1], ARGV[1]) == 1 and redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return redis.call('PFCOUNT', KEYS[1])`

interface Store {
  add: (ipKey: string, userKey: string) => Promise<number>
  count: (ipKey: string) => Promise<number>
}

function redisStore (redis: RedisClient, keyPrefix: string): Store {
  const add = defineScript(redis, 'lgSharedAdd', 1, ADD)
  const key = (ipKey: string) => `${keyPrefix}shared:${ipKey}`
  return {
    add: async (ipKey, userKey) => Number(await add([key(ipKey)], [userKey, DAY_S])),
    count: async ipKey => redis.pfcount(key(ipKey))
  }
}

function memoryStore (maxEntries: number, now: () => number): Store {
  const users = new Map<string, { set: Set<string>, until: number }>()
  const live = (ipKey: string) => {
    const entry = users.get(ipKey)
    if (entry && entry.until > now()) return entry
    users.delete(ipKey)
    return undefined
  }
  return {
    async add (ipKey, userKey) {
      let entry = live(ipKey)
      if (entry === undefined) {
        entry = { set: new Set(), until: now() + DAY_S * 1000 }
        users.set(ipKey, entry)
        dropOldest(users, maxEntries)
      }
      entry.set.add(userKey)
      return entry.set.size
    },
    count: async ipKey => live(ipKey)?.set.size ?? 0
  }
}

export function createSharedAddresses (opts: SharedAddressOptions): SharedAddresses {
  const store = opts.redis ? redisStore(opts.redis, opts.keyPrefix) : memoryStore(opts.maxEntries, opts.now)
  // Every address a login comes from gets an entry, so an entry is one small integer: the second
  // its answer expires, negated when the address is not shared (an object with a timestamp took
  // 12 MB for 100 000 addresses in a heap snapshot). Expired answers leave as they pass.
  const seconds = smallTicks(opts.now, 1000)
  const cache = new Map<string, number>()
  const isLive = (entry: number, second: number) => Math.abs(entry) > second

  function remember (ipKey: string, count: number): boolean {
    const shared = count >= opts.minUsers
    const before = cache.get(ipKey)
    if (shared && (before === undefined || before < 0)) {
      opts.log.info({ ipKey, distinctUsers: count }, 'address recognised as shared egress; IP-wide budgets raised')
      opts.metrics.sharedAddresses.inc()
    }
    const at = opts.now()
    // Rounded up: an answer is never dropped before its TTL, at most a second after.
    const until = seconds.ceil(at + opts.cacheTtlMs)
    cache.delete(ipKey)
    cache.set(ipKey, shared ? until : -until)
    dropOldest(cache, opts.maxEntries, isLive, seconds.floor(at))
    return shared
  }

  return {
    known (ipKey) {
      const entry = cache.get(ipKey)
      return entry !== undefined && isLive(entry, seconds.floor(opts.now())) ? entry > 0 : undefined
    },
    lookup: async ipKey => remember(ipKey, await store.count(ipKey)),
    async recordSuccess (ipKey, userKey) {
      remember(ipKey, await store.add(ipKey, userKey))
    }
  }
}
