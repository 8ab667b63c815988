// post-maintenance: login is in maintenance when a crowd arrives; every user obeys the
// Retry-After it gets, so the whole crowd comes back the moment maintenance ends. Staged
// re-admission should spread them out instead of letting the spike through to the backend.
// Needs issue 6 (PUT /admin/maintenance); without it the scenario is skipped, not failed.
import { deleteMaintenance, putMaintenance } from '../stack/admin.js'
import { commonObjectives, extraObjective } from './objectives.js'
import { createTrafficKit, DEFAULT_POPULATION } from './traffic-kit.js'
import { type LoadModel } from '../traffic/mix.js'
import { type Extras, type Scenario, type ScenarioContext } from './types.js'

const WINDOW = 'maintenance'

/** A crowd the load can let in within the run: a quarter of what it can send (pure). */
export function crowdSize (model: LoadModel, durationS: number): number {
  const perSecond = model.kind === 'open' ? model.rate : model.connections * 50
  return Math.max(50, Math.round((perSecond * durationS) / 4))
}

function retryAfterFigures (ctx: ScenarioContext, untilMs: number): Extras {
  const honest = ctx.recorder.responses.filter(r => r.cls === 'honest')
  const maintenance = honest.filter(r => r.code === 'maintenance')
  // Retry-After must point at the window's end (to the second, allowing for rounding).
  const accurate = maintenance.filter(r => r.retryAfterS !== undefined && Math.abs(r.t + r.retryAfterS * 1000 - untilMs) <= 1500).length
  const turnedAway = honest.filter(r => r.t >= untilMs && r.status === 503)
  const waits = turnedAway.map(r => r.retryAfterS ?? 0)
  return {
    maintenanceAnswers: maintenance.length,
    maintenanceRetryAfterAccurate: maintenance.length === 0 ? null : accurate / maintenance.length,
    turnedAwayAfterEnd: turnedAway.length,
    turnedAwayDistinctRetryAfter: new Set(waits).size,
    turnedAwayMaxRetryAfterS: waits.length === 0 ? 0 : Math.max(...waits)
  }
}

export const postMaintenance: Scenario = {
  name: 'post-maintenance',
  summary: 'A crowd of users (a quarter of what the load can send in the run) meets a maintenance window (the first quarter of the run), waits as Retry-After says, and returns at once when it ends. Measures how the gateway re-admits them.',
  defaults: { durationS: 30, model: { kind: 'open', rate: 300 } },
  needsOwnStack: false,
  async run (ctx) {
    const token = ctx.stack.adminToken
    if (token === undefined) return { kind: 'skipped', reason: 'needs the admin token (set BENCH_ADMIN_TOKEN with --target)' }
    const honest = [{ cls: 'honest' as const, weight: 1 }]
    const warm = createTrafficKit(ctx.stack, ctx.recorder, { ...DEFAULT_POPULATION, size: 2000, offset: 500_000 })
    await ctx.warmUp({ name: 'warm-up', durationS: 2, loads: warm.loads(honest, { kind: 'closed', connections: 4 }) })

    const d = ctx.options.durationS
    const windowS = Math.max(3, Math.round(d / 4))
    const until = new Date(Date.now() + windowS * 1000)
    const put = await putMaintenance(ctx.stack.gatewayUrl, token, { until: until.toISOString(), message: 'Scheduled maintenance (bench)' })
    if (put.status === 404) return { kind: 'skipped', reason: 'maintenance mode not available' }
    if (put.status >= 300) throw new Error(`PUT /admin/maintenance answered ${put.status}: ${put.body.slice(0, 200)}`)
    const size = crowdSize(ctx.options.model, d)
    try {
      const crowd = createTrafficKit(ctx.stack, ctx.recorder, { ...DEFAULT_POPULATION, size, once: true })
      ctx.fault(WINDOW, 0, windowS, async () => {}, async () => {})
      await ctx.phase({ name: 'maintenance, then the crowd returns', durationS: d, loads: crowd.loads(honest, ctx.options.model), stopWhen: () => crowd.pool.remaining() === 0 })
      await ctx.settleFaults()
      const untilMs = until.getTime() - (Date.now() - ctx.recorder.now())
      const signedIn = size - crowd.pool.remaining()
      const lastIn = Math.max(0, ...ctx.recorder.flows.filter(f => f.ok).map(f => f.end))
      return {
        kind: 'ran',
        extras: {
          crowd: size,
          crowdSignedIn: signedIn,
          crowdSignedInShare: signedIn / size,
          drainSecondsAfterEnd: signedIn === 0 ? null : Math.max(0, (lastIn - untilMs) / 1000),
          maintenanceEndS: untilMs / 1000,
          ...retryAfterFigures(ctx, untilMs)
        }
      }
    } finally {
      await deleteMaintenance(ctx.stack.gatewayUrl, token).catch(() => undefined)
    }
  },
  objectives: input => {
    const endS = typeof input.extras.maintenanceEndS === 'number' ? input.extras.maintenanceEndS : Infinity
    const peak = Math.max(0, ...input.backend.filter(b => b.s >= Math.floor(endS)).map(b => b.calls))
    const crowd = typeof input.extras.crowd === 'number' ? input.extras.crowd : 0
    const objectives = [
      ...commonObjectives(input),
      extraObjective(input, 'crowdSignedInShare', 'crowd members signed in before the run ended', '>=', 0.99, 'percent'),
      extraObjective(input, 'maintenanceRetryAfterAccurate', '503 maintenance answers whose Retry-After points at the end', '>=', 0.99, 'percent')
    ]
    // Only the bench's own mock backend can say what reached it. Provisional target until issue
    // 6's ramp settles: the returning crowd must not reach the backend within one second.
    if (input.backend.length > 0 && crowd > 0) {
      objectives.push({ id: 'backend_peak', description: 'busiest backend second after maintenance, as a share of the crowd', op: '<=', target: 0.5, actual: peak / crowd, format: 'percent' })
    }
    return objectives
  }
}
