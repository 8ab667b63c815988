// The counters behind the login limits, one rate-limiter-flexible counter per enabled limit.
import { type RedisClient } from '../infra/redis.js'
import { type Metrics } from '../infra/metrics.js'
import { type Counter, createCounter, increment } from './counter.js'
import { changeThrough, createCounterScript } from './counter-script.js'
import { blockSecondsFor, LIMIT_NAMES, type LimitKey, type LimitName, type Limits, maxBudgetOf, type Observation, type SharedPolicy } from './limit-policy.js'

export interface LimitCounters {
  /** Adds one to the counter and observes it. Never throws: insurance answers when Redis fails. */
  consume: (k: LimitKey) => Promise<Observation>
  /** Takes back this request's point (a failure counted up front that did not happen). */
  refund: (k: LimitKey) => Promise<void>
  reset: (k: LimitKey) => Promise<void>
  /** Blocks the key for its limit's escalating duration (doubling per block in a day); returns the seconds. */
  escalate: (k: LimitKey) => Promise<number>
  /** The counter as it stands, without counting (for the admin's explain). */
  peek: (k: LimitKey) => Promise<{ consumed: number, msBeforeNext: number } | null>
}

export interface LimitCounterOptions {
  redis: RedisClient | null
  keyPrefix: string
  limits: Limits
  shared: SharedPolicy
  /** Gateway replicas sharing the Redis: the insurance budget of each is its share. */
  replicas: number
  metrics: Metrics
}

const DAY_S = 86_400

export function createLimitCounters (opts: LimitCounterOptions): LimitCounters {
  const limiters = new Map<LimitName, Counter>()
  const blockCounters = new Map<LimitName, Counter>()
  const make = (name: string, points: number, durationS: number) => createCounter({
    redis: opts.redis,
    keyPrefix: `${opts.keyPrefix}rl:${name}`,
    points,
    durationS,
    replicas: opts.replicas,
    onInsurance: () => opts.metrics.limitInsurance.inc({ limit: name })
  })
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

  // In Redis through our script (see counter-script.ts), in memory through rate-limiter-flexible.
  const script = opts.redis === null ? undefined : createCounterScript(opts.redis)
  const change = async ({ name, key }: LimitKey, by: number | 'reset') => {
    const counter = limiterFor(name)
    return script === undefined ? await changeThrough(counter, key, by) : await script({ counter, durationS: opts.limits[name].windowS, key, change: by })
  }

  return {
    async consume (k) {
      return { name: k.name, key: k.key, ...await change(k, 1) }
    },
    async refund (k) {
      await change(k, -1)
    },
    async reset (k) {
      await change(k, 'reset')
    },
    async peek ({ name, key }) {
      const res = await limiterFor(name).get(key)
      return res === null ? null : { consumed: res.consumedPoints, msBeforeNext: res.msBeforeNext }
    },
    async escalate ({ name, key }) {
      const blocks = blockCounters.get(name)
      const earlier = blocks === undefined ? 0 : (await increment(blocks, key)).consumedPoints - 1
      const seconds = blockSecondsFor(opts.limits[name], earlier)
      await limiterFor(name).block(key, seconds)
      return seconds
    }
  }
}
