// One rate-limiter-flexible counter: in Redis, shared by every replica, with an in-process
// insurance limiter taking over while Redis fails; or in memory alone (demo mode).
import { type RedisClient } from '../infra/redis.js'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'

export interface CounterOptions {
  redis: RedisClient | null
  keyPrefix: string
  points: number
  durationS: number
  /** Gateway replicas sharing the Redis: the insurance budget of each is its share. */
  replicas: number
  onInsurance: () => void
}

export type Counter = RateLimiterMemory | RateLimiterRedis

/**
 * rate-limiter-flexible's insurance limiter, counting each local attempt as `replicas` points
 * against the full budget: while Redis is down, every replica enforces its share of the limit.
 */
class InsuranceLimiter extends RateLimiterMemory {
  constructor (opts: ConstructorParameters<typeof RateLimiterMemory>[0], private readonly scale: number, private readonly onUse: () => void) {
    super(opts)
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
  if (o.redis === null) return new RateLimiterMemory(base)
  const insurance = new InsuranceLimiter(base, o.replicas, o.onInsurance)
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
