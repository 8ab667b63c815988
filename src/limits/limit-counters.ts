// The counters behind the login limits, one rate-limiter-flexible counter per enabled limit.
import { type RedisClient } from '../infra/redis.js'
import { type Metrics } from '../infra/metrics.js'
import { type Counter, createCounter, increment } from './counter.js'
import { type InsuranceStorage } from './insurance-storage.js'
import { type CounterChange, changeThrough, createCounterScript } from './counter-script.js'
import { blockSecondsFor, LIMIT_NAMES, type LimitKey, type LimitName, type Limits, maxBudgetOf, type Observation, type SharedPolicy } from './limit-policy.js'

export interface LimitCounters {
  /** Adds one to each counter and observes them, in one script call. Never throws: insurance answers when Redis fails. */
  consume: (keys: readonly LimitKey[]) => Promise<Observation[]>
  /**
   * Takes back this request's point from `refunds` (failures counted up front that did not
   * happen) and clears `resets`, in one script call.
   */
  settle: (refunds: readonly LimitKey[], resets: readonly LimitKey[]) => Promise<void>
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
  /** The in-process counts (insurance while Redis fails; everything without Redis). */
  storage: InsuranceStorage
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
    storage: opts.storage,
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
  const changeOf = ({ name, key }: LimitKey, by: CounterChange['change']): CounterChange =>
    ({ counter: limiterFor(name), durationS: opts.limits[name].windowS, key, change: by })
  const change = async (changes: CounterChange[]) => script === undefined
    ? await Promise.all(changes.map(async c => await changeThrough(c.counter, c.key, c.change)))
    : await script(changes)

  return {
    async consume (keys) {
      const counts = await change(keys.map(k => changeOf(k, 1)))
      return keys.map((k, i) => ({ name: k.name, key: k.key, consumed: counts[i]?.consumed ?? 0, msBeforeNext: counts[i]?.msBeforeNext ?? -1 }))
    },
    async settle (refunds, resets) {
      await change([...refunds.map(k => changeOf(k, -1)), ...resets.map(k => changeOf(k, 'reset'))])
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
