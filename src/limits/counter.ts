// One rate-limiter-flexible counter: in Redis, shared by every replica, with an in-process
// insurance limiter taking over while Redis fails; or in memory alone (demo mode). What is kept
// in process is kept in a bounded storage shared by every counter (insurance-storage.ts).
import { type RedisClient } from '../infra/redis.js'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { type InsuranceStorage } from './insurance-storage.js'

export interface CounterOptions {
  redis: RedisClient | null
  keyPrefix: string
  points: number
  durationS: number
  /** Gateway replicas sharing the Redis: the insurance budget of each is its share. */
  replicas: number
  onInsurance: () => void
  /** Where the in-process counts live, shared by every counter of the app. */
  storage: InsuranceStorage
}

export type Counter = RateLimiterMemory | RateLimiterRedis

type MemoryOptions = ConstructorParameters<typeof RateLimiterMemory>[0]

/**
 * RateLimiterMemory on the bounded storage. rate-limiter-flexible keeps its storage in the
 * `_memoryStorage` field and asks it for incrby, set, get and delete (version pinned; a test
 * checks that the counts land in the storage given).
 */
class BoundedLimiter extends RateLimiterMemory {
  constructor (opts: MemoryOptions, storage: InsuranceStorage) {
    super(opts);
    (this as unknown as { _memoryStorage: InsuranceStorage })._memoryStorage = storage
  }
}

/**
 * rate-limiter-flexible's insurance limiter, counting each local attempt as `replicas` points
 * against the full budget: while Redis is down, every replica enforces its share of the limit.
 */
class InsuranceLimiter extends BoundedLimiter {
  constructor (opts: MemoryOptions, storage: InsuranceStorage, private readonly scale: number, private readonly onUse: () => void) {
    super(opts, storage)
  }

  override consume (key: string | number, points = 1, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onUse()
    return super.consume(key, points * this.scale, options)
  }

  override reward (key: string | number, points = 1, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    return super.reward(key, points * this.scale, options)
  }
}

const insurances = new WeakMap<Counter, RateLimiterMemory>()

export function createCounter (o: CounterOptions): Counter {
  const base = { keyPrefix: o.keyPrefix, points: o.points, duration: o.durationS }
  if (o.redis === null) return new BoundedLimiter(base, o.storage)
  const insurance = new InsuranceLimiter(base, o.storage, o.replicas, o.onInsurance)
  const counter = new RateLimiterRedis({
    ...base,
    storeClient: o.redis,
    insuranceLimiter: insurance,
    rejectIfRedisNotReady: true // straight to insurance while disconnected, no waiting
  })
  insurances.set(counter, insurance)
  return counter
}

/** The in-process limiter that answers for a Redis counter while Redis fails (see counter-script.ts). */
export const insuranceOf = (counter: Counter): RateLimiterMemory | undefined => insurances.get(counter)

/** Adds one and returns the count after it, over budget or not; an Error (never a Redis one) still throws. */
export async function increment (counter: Counter, key: string): Promise<RateLimiterRes> {
  try {
    return await counter.consume(key)
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection
    return rejection
  }
}
