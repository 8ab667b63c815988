// otp-outage: the primary SMS provider stops answering mid-run (its calls hang until the
// gateway's provider timeout), and for a while the backup fails too. Codes should still reach
// users: by the backup, then by the alternative channel the 503 otp_delivery_failed offers.
import { commonObjectives, extraObjective, honestSuccess, recoveredWithin } from './objectives.js'
import { createTrafficKit, DEFAULT_POPULATION } from './traffic-kit.js'
import { type Scenario } from './types.js'

const PRIMARY = 'primary SMS provider down'
const BOTH = 'backup SMS provider down too'

export const otpOutage: Scenario = {
  name: 'otp-outage',
  summary: 'Half of the honest users need an SMS code. The primary SMS provider hangs from 25% to 75% of the run; the backup also fails from 45% to 60%. Users should get codes by the backup, or by voice/email as offered.',
  defaults: { durationS: 20, model: { kind: 'open', rate: 150 } },
  needsOwnStack: true,
  async run (ctx) {
    const sinks = ctx.stack.sinks
    if (sinks === undefined) return { kind: 'skipped', reason: 'needs the bench\'s own OTP providers' }
    const kit = createTrafficKit(ctx.stack, ctx.recorder, { ...DEFAULT_POPULATION, mfaShare: 0.5 })
    const honest = [{ cls: 'honest' as const, weight: 1 }]
    await ctx.warmUp({ name: 'warm-up', durationS: 2, loads: kit.loads(honest, { kind: 'closed', connections: 4 }) })
    const d = ctx.options.durationS
    ctx.fault(PRIMARY, d * 0.25, d * 0.75,
      async () => { sinks.setMode('sms-primary', { kind: 'hang' }) },
      async () => { sinks.setMode('sms-primary', { kind: 'ok' }) })
    ctx.fault(BOTH, d * 0.45, d * 0.6,
      async () => { sinks.setMode('sms-backup', { kind: 'fail', status: 503 }) },
      async () => { sinks.setMode('sms-backup', { kind: 'ok' }) })
    await ctx.phase({ name: 'outage', durationS: d, loads: kit.loads(honest, ctx.options.model) })
    await ctx.settleFaults()
    const counts = sinks.counts()
    const extras: Record<string, number> = {}
    for (const [name, c] of Object.entries(counts)) {
      extras[`${name}.accepted`] = c.accepted
      extras[`${name}.failed`] = c.failed
      extras[`${name}.hung`] = c.hung
    }
    const flows = ctx.recorder.flows.filter(f => f.cls === 'honest')
    extras.deliveryFailedFlows = flows.filter(f => f.code === 'otp_delivery_failed').length
    return { kind: 'ran', extras }
  },
  objectives: input => [
    ...commonObjectives(input),
    honestSuccess(input, 0.99),
    recoveredWithin(input, PRIMARY, 5),
    recoveredWithin(input, BOTH, 5),
    extraObjective(input, 'deliveryFailedFlows', 'honest logins lost to undeliverable codes', '<=', 0, 'count')
  ]
}
