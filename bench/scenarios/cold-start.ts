// cold-start: a replica started straight into an attack at peak, as a rolling deploy on a bad
// day starts one. The credential-stuffing mix at its full rate on a gateway that has served
// nothing yet. V8 compiles the login path on its first few hundred calls, so the first second is
// slow and the gateway may shed some logins with `overloaded`; what it must not do is blame a
// dependency that is fine. Redis and the backend answer at once here, so a refusal that says
// either is down is the gateway misreading its own stall (a command timer that fired before
// the gateway read Redis's reply did exactly that, bench/RESULTS.md).
import { codeAtMost, commonObjectives, honestSuccess } from './objectives.js'
import { ATTACK_MIX } from './credential-stuffing.js'
import { createTrafficKit, DEFAULT_POPULATION } from './traffic-kit.js'
import { type Scenario } from './types.js'

export const coldStart: Scenario = {
  name: 'cold-start',
  summary: 'A replica started straight into the credential-stuffing mix at peak rate, with no warm-up (a rolling deploy on a bad day): it may be slow and shed for a moment, but no refusal may blame Redis or the backend, which are fine.',
  defaults: { durationS: 10, model: { kind: 'open', rate: 400 } },
  // The gateway must be one the bench has just started.
  needsOwnStack: true,
  async run (ctx) {
    const kit = createTrafficKit(ctx.stack, ctx.recorder, DEFAULT_POPULATION)
    await ctx.phase({ name: 'attack on a cold gateway', durationS: ctx.options.durationS, loads: kit.loads(ATTACK_MIX, ctx.options.model) })
    return { kind: 'ran', extras: {} }
  },
  objectives: input => [
    ...commonObjectives(input),
    codeAtMost(input, 'session_store_unavailable', 0, 'answers saying Redis is down (session_store_unavailable) while it is up'),
    codeAtMost(input, 'auth_unavailable', 0, 'answers saying the backend is down (auth_unavailable) while it is up'),
    // What the first second sheds (overloaded, with Retry-After), over a run of 10 s.
    honestSuccess(input, 0.9)
  ]
}
