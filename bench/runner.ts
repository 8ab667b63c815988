// Runs one scenario end to end: start (or reach) the system under test, drive the traffic,
// stop everything it started (whatever happened), then compute figures, check the objectives
// and write the report.
import { cpus, loadavg, platform } from 'node:os'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chooseModel, type BenchArgs } from './cli-args.js'
import { type ContextState, createContext } from './context.js'
import { computeFigures } from './measure/figures.js'
import { type Sampler, startSampler } from './measure/metrics-sampler.js'
import { createRecorder, type Recorder } from './measure/recorder.js'
import { allPassed, evaluateSlos, type SloResult } from './measure/slo.js'
import { buildTimeline, recoveryAfter } from './measure/timeline.js'
import { startProgress } from './progress.js'
import { type CpuProfile, summariseProfile } from './report/profile-summary.js'
import { type Report, type RunStatus } from './report/report.js'
import { resultsDirName, writeReport } from './report/write-report.js'
import { type BackendSecond, type Extras, type ResolvedOptions, type RunOutcome, type Scenario } from './scenarios/types.js'
import { OVERRIDE_REASONS } from './stack/gateway-env.js'
import { type OwnStackOptions, type Stack, startOwnStack, targetStack } from './stack/stack.js'

export interface RunnerOptions {
  args: BenchArgs
  resultsRoot: string
  signal: AbortSignal
  command: string
  /** The admin token of a --target gateway (BENCH_ADMIN_TOKEN). */
  targetAdminToken: string | undefined
  log: (message: string) => void
}

export interface RunSummary {
  scenario: string
  status: RunStatus
  dir: string
  report: Report
}

interface Collected {
  outcome: RunOutcome | undefined
  error: Error | undefined
  stack: Stack | undefined
  phasesEnd: number
  context: ContextState | undefined
  backend: BackendSecond[]
}

function ownStackOptions (scenario: Scenario, o: RunnerOptions, dir: string): OwnStackOptions {
  const { args } = o
  return {
    resultsDir: dir,
    gatewayEnv: { ...scenario.gatewayEnv, ...(args.nodeOptions === undefined ? {} : { NODE_OPTIONS: args.nodeOptions }) },
    cpuProf: args.cpuProf,
    // The mock providers answer at once: a second tells a hang from an answer.
    providerTimeoutMs: 1000,
    compiled: args.compiled,
    reference: scenario.startsReference === true,
    ...(args.gatewayDir === undefined ? {} : { gatewayDir: args.gatewayDir }),
    ...(args.gatewayCommit === undefined ? {} : { gatewayCommit: args.gatewayCommit })
  }
}

async function drive (scenario: Scenario, options: ResolvedOptions, o: RunnerOptions, dir: string, recorder: Recorder): Promise<Driven> {
  const c: Collected = { outcome: undefined, error: undefined, stack: undefined, phasesEnd: 0, context: undefined, backend: [] }
  let sampler: Sampler | undefined
  let stopProgress = () => {}
  try {
    c.stack = options.remote ? targetStack(o.args.target ?? '', o.targetAdminToken) : await startOwnStack(ownStackOptions(scenario, o, dir))
    const s = startSampler(`${c.stack.gatewayUrl}/metrics`, recorder)
    sampler = s
    if (!o.args.quiet) stopProgress = startProgress({ scenario: scenario.name, plannedS: options.durationS, responses: recorder.responses, samples: s.samples, now: recorder.now })
    c.context = createContext(options, c.stack, recorder, () => s.samples, o.signal, o.log)
    c.outcome = await scenario.run(c.context.ctx)
    await c.context.ctx.settleFaults()
    c.phasesEnd = Math.max(0, ...c.context.phases.map(p => p.end))
    const stats = await c.stack.backend?.stats().catch(() => undefined)
    const epochStart = (Date.now() - recorder.now()) / 1000
    // A backend second (whole Unix second) goes to the run second holding its middle.
    c.backend = (stats?.perSecond ?? []).map(b => ({ s: Math.floor(b.s + 0.5 - epochStart), calls: b.calls, errors: b.errors, maxInFlight: b.maxInFlight })).filter(b => b.s >= 0)
    if (o.signal.aborted) c.error = new Error('interrupted')
  } catch (err) {
    c.error = err as Error
  } finally {
    c.context?.clear()
    stopProgress()
    await sampler?.stop()
    await c.stack?.stop()
  }
  return { ...c, sampler }
}

async function logTail (dir: string): Promise<string> {
  const text = await readFile(join(dir, 'gateway.log'), 'utf8').catch(() => '')
  return text.trim().split('\n').slice(-15).join('\n')
}

async function hotSpots (dir: string): Promise<Report['hotSpots']> {
  const file = (await readdir(dir).catch(() => [] as string[])).find(f => f.endsWith('.cpuprofile'))
  if (file === undefined) return []
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile
  const summary = summariseProfile(profile, 12)
  return [...summary.modules.slice(0, 8), ...summary.functions]
}

function scenarioSettings (scenario: Scenario): Record<string, string> {
  return Object.fromEntries(Object.entries(scenario.gatewayEnv ?? {}).map(([k, v]) => [k, `${v} (set by this scenario)`]))
}

function gatewayLabel (args: BenchArgs, stack: Stack | undefined): string {
  if (args.target !== undefined) return 'remote'
  const how = args.compiled ? 'node dist/server.js (compiled, NODE_ENV=production)' : 'node --import tsx src/server.ts'
  if (stack?.commit !== undefined) return `${how} at commit ${stack.commit}`
  return args.gatewayDir === undefined ? `${how} (working tree)` : `${how} from ${args.gatewayDir}`
}

type Driven = Collected & { sampler: Sampler | undefined }

interface Evaluated {
  figures: ReturnType<typeof computeFigures>
  timeline: ReturnType<typeof buildTimeline>
  recoveries: ReturnType<typeof recoveryAfter>[]
  extras: Extras
  slos: SloResult[]
  ran: boolean
  status: RunStatus
}

/** Figures, recoveries and objectives from what was recorded (pure). */
function evaluate (scenario: Scenario, c: Driven, recorder: Recorder): Evaluated {
  const durationS = c.phasesEnd / 1000
  const faults = c.context?.faults ?? []
  const figures = computeFigures(recorder.responses, recorder.flows, durationS)
  const timeline = buildTimeline(recorder.responses, durationS)
  const recoveries = faults.map(w => recoveryAfter(timeline, w))
  const extras = c.outcome?.kind === 'ran' ? c.outcome.extras : {}
  const ran = c.error === undefined && c.outcome?.kind === 'ran'
  const slos = ran ? evaluateSlos(scenario.objectives({ figures, recoveries, extras, samples: c.sampler?.samples ?? [], faults, backend: c.backend })) : []
  const status: RunStatus = c.error !== undefined ? 'error' : c.outcome?.kind === 'skipped' ? 'skipped' : allPassed(slos) ? 'passed' : 'failed'
  return { figures, timeline, recoveries, extras, slos, ran, status }
}

async function reasonFor (c: Driven, remote: boolean, dir: string): Promise<string | undefined> {
  if (c.error !== undefined) return `${c.error.message}${remote ? '' : `\ngateway.log (last lines):\n${await logTail(dir)}`}`
  return c.outcome?.kind === 'skipped' ? `skipped: ${c.outcome.reason}` : undefined
}

export async function runScenario (scenario: Scenario, o: RunnerOptions): Promise<RunSummary> {
  const startedAt = new Date()
  const dir = join(o.resultsRoot, resultsDirName(scenario.name, startedAt))
  await mkdir(dir, { recursive: true })
  const options: ResolvedOptions = { durationS: o.args.durationS ?? scenario.defaults.durationS, model: chooseModel(o.args, scenario.defaults.model), remote: o.args.target !== undefined }
  const recorder = createRecorder()
  const c: Driven = options.remote && scenario.needsOwnStack
    ? { outcome: { kind: 'skipped', reason: 'fault injection needs the bench\'s own stack: run it without --target' }, error: undefined, stack: undefined, phasesEnd: 0, context: undefined, backend: [], sampler: undefined }
    : await drive(scenario, options, o, dir, recorder)
  const e = evaluate(scenario, c, recorder)
  const reason = await reasonFor(c, options.remote, dir)
  const report: Report = {
    scenario: scenario.name,
    summary: scenario.summary,
    status: e.status,
    ...(reason === undefined ? {} : { reason }),
    startedAt: startedAt.toISOString(),
    command: o.command,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: platform(), loadAverage: loadavg() },
    options: { durationS: options.durationS, model: options.model, remote: options.remote, target: o.args.target ?? c.stack?.gatewayUrl ?? 'own stack', gateway: gatewayLabel(o.args, c.stack) },
    gatewayEnv: c.stack?.shownEnv ?? {},
    overrides: c.stack?.mode === 'own' ? { ...OVERRIDE_REASONS, ...scenarioSettings(scenario) } : {},
    phases: c.context?.phases ?? [],
    faults: c.context?.faults ?? [],
    figures: e.ran ? e.figures : undefined,
    recoveries: e.recoveries,
    extras: e.extras,
    slos: e.slos,
    timeline: e.timeline,
    samples: c.sampler?.samples ?? [],
    backend: c.backend,
    otpSinks: c.stack?.sinks?.counts() ?? {},
    hotSpots: o.args.cpuProf ? await hotSpots(dir) : []
  }
  await writeReport(dir, report)
  return { scenario: scenario.name, status: e.status, dir, report }
}
