// attack-memory (supplementary): issue 7's memory target, with every bounded in-process cache
// filled at once. First a crowd of honest users, each from an address of their own, signs in
// once each: their sessions fill the session-grace copies (SESSION_GRACE_MAX_ENTRIES, with the
// grace period raised so that the cap, not the clock, bounds them) and their usernames and
// addresses the memos. Then an address flood where every address makes two attempts and is never
// seen again (ip_attempts lowered to one attempt, so each address leaves a blocked key the gateway
// remembers in process). RSS must stay under 200 MB while 100 000 attacking addresses are tracked
// and the caches honest traffic feeds are full. Then the worst day: redis-server is killed and
// another 100 000 addresses flood in, every limit counting in process (the insurance limiters,
// bounded by LIMIT_INSURANCE_MAX_KEYS); the gateway must answer every one of them and stay
// under the same 200 MB (before that bound, it ran out of heap and died within 37 s).
import { seededRandom } from '../traffic/addresses.js'
import { createFloodAgent } from '../traffic/attack-agents.js'
import { type LoadSpec } from '../traffic/load.js'
import { commonObjectives, extraObjective } from './objectives.js'
import { createTrafficKit } from './traffic-kit.js'
import { type Scenario } from './types.js'

const ADDRESSES = 100_000
// SESSION_GRACE_MAX_ENTRIES's default: a session per crowd member fills every grace slot.
const CROWD = 100_000
const HONEST = [{ cls: 'honest' as const, weight: 1 }]

export const attackMemory: Scenario = {
  name: 'attack-memory',
  summary: `Memory while ${ADDRESSES} distinct attacking addresses are tracked and ${CROWD} sessions are kept for a Redis outage: first ${CROWD} honest users sign in once each from an address of their own, then each of ${ADDRESSES} attacking addresses tries twice (ip_attempts lowered to 1, so the second attempt is blocked and remembered) and is never seen again; then redis-server is killed and another ${ADDRESSES} addresses do the same. Each phase ends once it is done or the duration is up.`,
  defaults: { durationS: 120, model: { kind: 'closed', connections: 20 } },
  needsOwnStack: true,
  gatewayEnv: {
    LIMITS: JSON.stringify({ global_attempts: { points: 100_000 }, ip_attempts: { points: 1 } }),
    // The copies of the crowd's sessions outlive the run: the cap, not the clock, bounds them.
    SESSION_GRACE_S: '3600'
  },
  async run (ctx) {
    let issued = 0
    const nextAddress = () => ++issued
    const flood = (connections: number): LoadSpec[] => [{ cls: 'stuffing', connections, makeAgent: c => createFloodAgent({ nextAddress, random: seededRandom(c + 1) }) }]
    // No second factor and no NAT: one login and one session per user, each from a new address.
    const crowd = createTrafficKit(ctx.stack, ctx.recorder, { size: CROWD, mfaShare: 0, natShare: 0, natAddresses: 0, formShare: 0.2, once: true })
    const model = ctx.options.model.kind === 'closed' ? ctx.options.model : { kind: 'closed' as const, connections: ctx.options.model.connections ?? 20 }
    await ctx.warmUp({ name: 'warm-up', durationS: 1, loads: flood(2) })
    const first = await ctx.phase({ name: 'honest crowd signs in', durationS: ctx.options.durationS, loads: crowd.loads(HONEST, model), stopWhen: () => crowd.pool.remaining() === 0 })
    await ctx.phase({ name: 'address flood', durationS: ctx.options.durationS, loads: flood(model.connections), stopWhen: () => issued >= ADDRESSES })
    const redis = ctx.stack.redis
    if (redis === undefined) throw new Error('attack-memory needs the redis-server it starts')
    await redis.kill()
    const outage = await ctx.phase({ name: 'address flood with Redis down', durationS: ctx.options.durationS, loads: flood(model.connections), stopWhen: () => issued >= 2 * ADDRESSES })
    const unanswered = ctx.recorder.responses.filter(r => r.phase === outage.index && r.outcome === 'transport').length
    const up = await fetch(`${ctx.stack.gatewayUrl}/healthz`).then(r => r.ok, () => false)
    // The gateway's last word on memory: one more scrape after the load.
    await new Promise(resolve => setTimeout(resolve, 1500))
    const samples = ctx.samples().filter(s => s.t >= first.start && s.rssMb !== undefined)
    const rss = samples.map(s => s.rssMb ?? 0)
    const copies = samples.map(s => s.sessionGraceCopies ?? 0)
    const last = samples.at(-1)
    return {
      kind: 'ran',
      extras: {
        addressesTracked: Math.min(issued, ADDRESSES),
        outageAddresses: Math.max(0, Math.min(issued, 2 * ADDRESSES) - ADDRESSES),
        outageUnanswered: unanswered,
        gatewayUpAfterOutage: up,
        addressTarget: ADDRESSES,
        crowdSignedIn: CROWD - crowd.pool.remaining(),
        sessionGraceCopiesMax: copies.length === 0 ? null : Math.max(...copies),
        rssStartMb: samples[0]?.rssMb ?? null,
        rssMaxMb: rss.length === 0 ? null : Math.max(...rss),
        rssEndMb: last?.rssMb ?? null,
        heapUsedEndMb: last?.heapUsedMb ?? null,
        blockCacheHits: last?.blockCacheHits ?? null
      }
    }
  },
  objectives: input => {
    const reached = typeof input.extras.addressesTracked === 'number' && input.extras.addressesTracked >= ADDRESSES &&
      typeof input.extras.crowdSignedIn === 'number' && input.extras.crowdSignedIn >= CROWD &&
      typeof input.extras.outageAddresses === 'number' && input.extras.outageAddresses >= ADDRESSES
    return [
      ...commonObjectives(input),
      extraObjective(input, 'addressesTracked', 'distinct attacking addresses tracked', '>=', ADDRESSES, 'count'),
      extraObjective(input, 'crowdSignedIn', 'honest users signed in (a session each)', '>=', CROWD, 'count'),
      extraObjective(input, 'outageAddresses', 'distinct attacking addresses counted in process while Redis is down', '>=', ADDRESSES, 'count'),
      extraObjective(input, 'outageUnanswered', 'flood requests left unanswered while Redis is down (the gateway fell over)', '<=', 0, 'count'),
      // Only meaningful once both reached their size: otherwise "not measured".
      { ...extraObjective(input, 'rssMaxMb', `gateway RSS while ${ADDRESSES} addresses are tracked and ${CROWD} sessions kept, then ${ADDRESSES} more with Redis down (highest sample)`, '<=', 200, 'mb'), ...(reached ? {} : { actual: undefined }) }
    ]
  }
}
