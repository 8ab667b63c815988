// credential-stuffing: the honest peak with an attack on top. Leaked pairs from a rotating
// proxy pool (and some scattered botnet hosts), brute force on five real accounts whose owners
// keep logging in, declared bots, and SMS pumping through attacker-owned accounts.
import { PUMP_PREFIX, pumpPhone } from '../traffic/population.js'
import { blockedAtLeast, commonObjectives, extraObjective, falsePositives, honestSuccess } from './objectives.js'
import { createTrafficKit, DEFAULT_POPULATION, MEASURED_ATTACKERS, pumpAccounts, WARM_UP_ATTACKERS } from './traffic-kit.js'
import { type Scenario } from './types.js'

export const ATTACK_MIX = [
  { cls: 'honest' as const, weight: 0.4 },
  // A tenth of the stuffing from scattered botnet hosts, the rest from a proxy pool's /24s.
  { cls: 'stuffing' as const, weight: 0.315 },
  { cls: 'botnet-stuffing' as const, weight: 0.035 },
  { cls: 'brute-force' as const, weight: 0.1 },
  { cls: 'bot' as const, weight: 0.1 },
  { cls: 'sms-pumping' as const, weight: 0.05 }
]

// The gateway's default OTP_SENDS_PER_DESTINATION_PER_DAY.
const SENDS_PER_NUMBER_PER_DAY = 10

export const credentialStuffing: Scenario = {
  name: 'credential-stuffing',
  summary: 'Honest peak plus an attack: 35% credential stuffing (nine tenths from a rotating proxy pool, one tenth from scattered botnet hosts, reported apart), 10% brute force on five real accounts, 10% declared bots, 5% SMS pumping, 40% honest users.',
  defaults: { durationS: 30, model: { kind: 'open', rate: 400 } },
  needsOwnStack: false,
  async run (ctx) {
    const kit = createTrafficKit(ctx.stack, ctx.recorder, DEFAULT_POPULATION)
    // The brute-forced accounts' owners have logged in before (warm-up goes through them first).
    await ctx.warmUp({ name: 'warm-up', durationS: 3, loads: kit.loads([{ cls: 'honest', weight: 1 }], { kind: 'closed', connections: 4 }) })
    // A gateway in service has seen attacks before this one: every attack class once more at a
    // lower rate, from ranges of their own and against accounts no honest user of the measured
    // phase has, so that the measured phase starts on compiled code (V8 compiles a path on its
    // first few hundred calls) and on none of their per-address, per-network or per-account
    // counters. Replica-wide windows (the failure-surge rule's) do see them, as in service. A
    // cold gateway under attack at peak is the cold-start scenario's.
    const rehearsal = createTrafficKit(ctx.stack, ctx.recorder, { ...DEFAULT_POPULATION, size: 2000, offset: 300_000 }, 11, WARM_UP_ATTACKERS)
    await ctx.warmUp({ name: 'warm-up attack', durationS: 3, loads: rehearsal.loads(ATTACK_MIX.filter(c => c.cls !== 'honest'), { kind: 'open', rate: 150 }) })
    await ctx.phase({ name: 'attack', durationS: ctx.options.durationS, loads: kit.loads(ATTACK_MIX, ctx.options.model) })
    // The cap is per number and day: every number counts, the rehearsal's too; the other
    // figures are the measured pumpers' own numbers.
    const everPumped = ctx.stack.sinks?.deliveriesTo(PUMP_PREFIX)
    const measured = new Set(pumpAccounts(MEASURED_ATTACKERS).map(pumpPhone))
    const pumped = everPumped === undefined ? undefined : [...everPumped].filter(([number]) => measured.has(number)).map(([, count]) => count)
    const owners = kit.pool.accounts.filter(a => kit.bruteTargets.includes(a.username))
    return {
      kind: 'ran',
      extras: {
        pumpNumbersReached: pumped?.length ?? null,
        pumpCodesDelivered: pumped === undefined ? null : pumped.reduce((a, b) => a + b, 0),
        maxCodesToOnePumpNumber: everPumped === undefined ? null : Math.max(0, ...everPumped.values()),
        bruteForcedOwnersWithDeviceCookie: owners.filter(a => a.did !== undefined).length,
        bruteForcedOwnersLogins: owners.reduce((a, o) => a + o.logins, 0)
      }
    }
  },
  objectives: input => [
    ...commonObjectives(input),
    honestSuccess(input, 0.99),
    falsePositives(input, 0.01),
    blockedAtLeast(input, 'stuffing', 0.95),
    blockedAtLeast(input, 'brute-force', 0.95),
    blockedAtLeast(input, 'bot', 0.95),
    extraObjective(input, 'maxCodesToOnePumpNumber', 'codes delivered to one premium number (cap per day)', '<=', SENDS_PER_NUMBER_PER_DAY, 'count')
  ]
}
