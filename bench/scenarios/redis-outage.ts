// redis-outage: redis-server is killed mid-run and a fresh, empty one starts on the same port
// later. Nothing may become a 500 or hang: logins answer 503 session_store_unavailable with
// Retry-After, brute force stays limited by the in-process insurance limiters, and honest users
// get in again soon after Redis is back.
import { blockedAtLeast, commonObjectives, recoveredWithin } from './objectives.js'
import { createTrafficKit, DEFAULT_POPULATION } from './traffic-kit.js'
import { type Scenario } from './types.js'

const FAULT = 'redis-server killed'

export const redisOutage: Scenario = {
  name: 'redis-outage',
  summary: 'Honest traffic (85%) and brute force (15%) while redis-server is killed at 30% of the run and restarted empty at 50%.',
  defaults: { durationS: 30, model: { kind: 'open', rate: 200 } },
  needsOwnStack: true,
  async run (ctx) {
    const redis = ctx.stack.redis
    if (redis === undefined) return { kind: 'skipped', reason: 'needs the bench\'s own redis-server' }
    const kit = createTrafficKit(ctx.stack, ctx.recorder, DEFAULT_POPULATION)
    await ctx.warmUp({ name: 'warm-up', durationS: 2, loads: kit.loads([{ cls: 'honest', weight: 1 }], { kind: 'closed', connections: 4 }) })
    const d = ctx.options.durationS
    ctx.fault(FAULT, d * 0.3, d * 0.5, redis.kill, redis.restart)
    await ctx.phase({ name: 'outage', durationS: d, loads: kit.loads([{ cls: 'honest', weight: 0.85 }, { cls: 'brute-force', weight: 0.15 }], ctx.options.model) })
    await ctx.settleFaults()
    return { kind: 'ran', extras: {} }
  },
  objectives: input => [
    ...commonObjectives(input),
    recoveredWithin(input, FAULT, 5),
    blockedAtLeast(input, 'brute-force', 0.9)
  ]
}
