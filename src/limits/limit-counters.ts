// The counters behind the limits, on rate-limiter-flexible: Redis shared by every replica, with
// an in-process insurance limiter taking over while Redis fails; or memory alone in demo mode.
import { type Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { type Metrics } from '../infra/metrics.js'
import { blockSecondsFor, LIMIT_NAMES, type LimitKey, type LimitName, type Limits, maxBudgetOf, type Observation, type SharedPolicy } from './limit-policy.js'

export interface LimitCounters {
  /** Adds one to the counter and observes it. Never throws: insurance answers when Redis fails. */
  consume: (k: LimitKey) => Promise<Observation>
  /** Takes back this request's point (a failure counted up front that did not happen). */
  refund: (k: LimitKey) => Promise<void>
  reset: (k: LimitKey) => Promise<void>
  /** Blocks the key for its limit's escalating duration (doubling per block in a day); returns the seconds. */
  escalate: (k: LimitKey) => Promise<number>
}

export interface LimitCounterOptions {
  redis: Redis | null
  keyPrefix: string
  limits: Limits
  shared: SharedPolicy
  /** Gateway replicas sharing the Redis: the insurance budget of each is its share. */
  replicas: number
  metrics: Metrics
}

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

const DAY_S = 86_400

export function createLimitCounters (opts: LimitCounterOptions): LimitCounters {
  const limiters = new Map<LimitName, RateLimiterMemory | RateLimiterRedis>()
  const blockCounters = new Map<LimitName, RateLimiterMemory | RateLimiterRedis>()
  const make = (name: string, points: number, duration: number) => {
    const keyPrefix = `${opts.keyPrefix}rl:${name}`
    if (opts.redis === null) return new RateLimiterMemory({ keyPrefix, points, duration })
    const insuranceLimiter = new InsuranceLimiter({ keyPrefix, points, duration }, opts.replicas,
      () => opts.metrics.limitInsurance.inc({ limit: name }))
    return new RateLimiterRedis({ storeClient: opts.redis, keyPrefix, points, duration, insuranceLimiter, rejectIfRedisNotReady: true })
  }
  for (const name of LIMIT_NAMES) {
    const spec = opts.limits[name]
    if (!spec.enabled) continue
    limiters.set(name, make(name, maxBudgetOf(name, opts.limits, opts.shared), spec.windowS))
    if (spec.blockS > 0) blockCounters.set(name, make(`${name}_blocks`, Number.MAX_SAFE_INTEGER, DAY_S))
  }
  const limiterFor = (name: LimitName) => {
    const limiter = limiters.get(name)
    if (limiter === undefined) throw new Error(`limit ${name} is disabled`)
    return limiter
  }

  return {
    async consume ({ name, key }) {
      let res: RateLimiterRes
      try {
        res = await limiterFor(name).consume(key)
      } catch (rejection) {
        // Over the limiter's own (largest) budget is still an observation; an Error is not.
        if (!(rejection instanceof RateLimiterRes)) throw rejection
        res = rejection
      }
      return { name, key, consumed: res.consumedPoints, msBeforeNext: res.msBeforeNext }
    },
    async refund ({ name, key }) {
      await limiterFor(name).reward(key)
    },
    async reset ({ name, key }) {
      await limiterFor(name).delete(key)
    },
    async escalate ({ name, key }) {
      const blocks = blockCounters.get(name)
      const earlier = blocks === undefined ? 0 : (await blocks.consume(key)).consumedPoints - 1
      const seconds = blockSecondsFor(opts.limits[name], earlier)
      await limiterFor(name).block(key, seconds)
      return seconds
    }
  }
}
