// peak-login: a repayment-deadline morning. A quarter of the run at normal load, then ten
// times as many honest users at once. Honest users only: does everyone get in, and how fast?
import { phaseFigures } from '../measure/figures.js'
import { scaleModel } from '../traffic/mix.js'
import { commonObjectives, falsePositives, honestP99, honestSuccess, extraObjective } from './objectives.js'
import { createTrafficKit, DEFAULT_POPULATION } from './traffic-kit.js'
import { type Scenario } from './types.js'

const HONEST = [{ cls: 'honest' as const, weight: 1 }]

export const peakLogin: Scenario = {
  name: 'peak-login',
  summary: 'A 10x honest login storm: a quarter of the run at baseline load, then ten times that. Honest users with browser headers, device cookies, 20% finishing an SMS code, 10% behind carrier-grade NAT.',
  defaults: { durationS: 20, model: { kind: 'open', rate: 300 } },
  needsOwnStack: false,
  async run (ctx) {
    const kit = createTrafficKit(ctx.stack, ctx.recorder, DEFAULT_POPULATION)
    const { model, durationS } = ctx.options
    const baseline = scaleModel(model, 0.1)
    await ctx.warmUp({ name: 'warm-up', durationS: 2, loads: kit.loads(HONEST, baseline) })
    const baseS = Math.max(1, Math.round(durationS / 4))
    await ctx.phase({ name: 'baseline (1x)', durationS: baseS, loads: kit.loads(HONEST, baseline) })
    const storm = await ctx.phase({ name: 'storm (10x)', durationS: durationS - baseS, loads: kit.loads(HONEST, model) })
    const f = phaseFigures(ctx.recorder.responses, 1, storm.end - storm.start, 'honest')
    return {
      kind: 'ran',
      extras: {
        stormOfferedRps: model.kind === 'open' ? model.rate : null,
        stormAnsweredRps: f.rps,
        stormHonestP50Ms: f.latency.p50,
        stormHonestP99Ms: f.latency.p99,
        // Closed model: "offered" is whatever the connections manage, so the share is 1 by definition.
        stormDeliveredShare: model.kind === 'open' ? f.rps / model.rate : 1
      }
    }
  },
  objectives: input => [
    ...commonObjectives(input),
    honestSuccess(input, 0.99),
    falsePositives(input, 0.01),
    honestP99(input, 1000),
    extraObjective(input, 'stormDeliveredShare', 'storm arrivals answered on schedule (open model)', '>=', 0.95, 'percent')
  ]
}
