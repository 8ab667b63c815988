// The counters behind the login limits, one rate-limiter-flexible counter per enabled limit.
import { type RedisClient } from '../infra/redis.js'
import { type Metrics } from '../infra/metrics.js'
import { batchesAcrossKeys } from '../infra/redis-script.js'
import { type Counter, createCounter, increment } from './counter.js'
import { type CounterBatch, createCounterBatch } from './counter-batch.js'
import { blockSecondsFor, LIMIT_NAMES, type LimitKey, type LimitName, type Limits, maxBudgetOf, type Observation, type SharedPolicy } from './limit-policy.js'

export interface LimitCounters {
  /** Adds one to the counter and observes it. Never throws: insurance answers when Redis fails. */
  consume: (k: LimitKey) => Promise<Observation>
  /** consume for several keys: one Redis command (one per key on a Cluster). */
  consumeAll: (keys: readonly LimitKey[]) => Promise<Observation[]>
  /**
   * Takes back this request's point on `refund` (failures counted up front that did not happen)
   * and deletes `reset`: one Redis command (one per key on a Cluster). Never throws.
   */
  settle: (refund: readonly LimitKey[], reset: readonly LimitKey[]) => Promise<void>
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

  const batch: CounterBatch | undefined = opts.redis !== null && batchesAcrossKeys(opts.redis) ? createCounterBatch(opts.redis) : undefined
  const change = (k: LimitKey, by: number | 'reset') => ({ counter: limiterFor(k.name), durationS: opts.limits[k.name].windowS, key: k.key, change: by })
  const consume = async ({ name, key }: LimitKey): Promise<Observation> => {
    const res = await increment(limiterFor(name), key)
    return { name, key, consumed: res.consumedPoints, msBeforeNext: res.msBeforeNext }
  }

  return {
    consume,
    async consumeAll (keys) {
      if (batch === undefined) return await Promise.all(keys.map(consume))
      const counts = await batch(keys.map(k => change(k, 1)))
      return keys.map((k, i) => ({ name: k.name, key: k.key, ...counts[i] as { consumed: number, msBeforeNext: number } }))
    },
    async settle (refund, reset) {
      if (batch !== undefined) {
        await batch([...refund.map(k => change(k, -1)), ...reset.map(k => change(k, 'reset'))])
        return
      }
      await Promise.all([
        ...refund.map(async k => await limiterFor(k.name).reward(k.key)),
        ...reset.map(async k => await limiterFor(k.name).delete(k.key))
      ].map(async p => await p.catch(() => undefined)))
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
