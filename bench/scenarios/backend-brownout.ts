// backend-brownout: the auth backend slows to 1.5 s and fails 60% of its calls for a while.
// The gateway should answer fast 503 auth_unavailable with Retry-After instead of hanging,
// open its breaker, and let users back in (staged) once the backend recovers.
import { latencyWithin } from '../measure/figures.js'
import { commonObjectives, extraObjective, recoveredWithin } from './objectives.js'
import { createTrafficKit, DEFAULT_POPULATION } from './traffic-kit.js'
import { type Scenario } from './types.js'

const FAULT = 'backend brownout'
// Breaker reset (3 s in the bench) + re-admission ramp (10 s) + 2 s of slack.
const RECOVERY_S = 15
// The gateway's AUTH_BACKEND_TIMEOUT_MS default plus scheduling slack: nothing waits longer.
const MAX_WAIT_MS = 2500

export const backendBrownout: Scenario = {
  name: 'backend-brownout',
  summary: 'Honest traffic while the auth backend browns out from 20% to 40% of the run (+1500 ms and 60% 503s). Measures fast failure, the breaker, and the time until honest users get in again.',
  defaults: { durationS: 30, model: { kind: 'open', rate: 200 } },
  needsOwnStack: true,
  async run (ctx) {
    const backend = ctx.stack.backend
    if (backend === undefined) return { kind: 'skipped', reason: 'needs the bench\'s own mock backend' }
    const kit = createTrafficKit(ctx.stack, ctx.recorder, DEFAULT_POPULATION)
    const honest = [{ cls: 'honest' as const, weight: 1 }]
    await ctx.warmUp({ name: 'warm-up', durationS: 2, loads: kit.loads(honest, { kind: 'closed', connections: 4 }) })
    const d = ctx.options.durationS
    const window = ctx.fault(FAULT, d * 0.2, d * 0.4,
      async () => { await backend.setFaults({ latencyMs: 1500, errorRate: 0.6, errorStatus: 503 }) },
      async () => { await backend.setFaults({}) })
    await ctx.phase({ name: 'brownout', durationS: d, loads: kit.loads(honest, ctx.options.model) })
    await ctx.settleFaults()
    const during = latencyWithin(ctx.recorder.responses, 'honest', window.start, window.end)
    return { kind: 'ran', extras: { faultHonestP50Ms: during.p50, faultHonestP99Ms: during.p99, faultHonestAnswers: during.count } }
  },
  objectives: input => [
    ...commonObjectives(input),
    recoveredWithin(input, FAULT, RECOVERY_S),
    extraObjective(input, 'faultHonestP99Ms', 'honest p99 during the brownout (nobody waits on a sick backend)', '<=', MAX_WAIT_MS, 'ms')
  ]
}
