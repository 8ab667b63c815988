// What a scenario is: defaults, the traffic and faults it runs on a context, and the
// objectives it must meet (a pure function of what was measured).
import { type Figures } from '../measure/figures.js'
import { type MetricsSample } from '../measure/metrics-sampler.js'
import { type Recorder } from '../measure/recorder.js'
import { type Objective } from '../measure/slo.js'
import { type FaultWindow, type Recovery } from '../measure/timeline.js'
import { type Stack } from '../stack/stack.js'
import { type LoadModel } from '../traffic/mix.js'
import { type LoadResult, type LoadSpec } from '../traffic/load.js'

export interface ResolvedOptions {
  durationS: number
  model: LoadModel
  /** Driving a gateway the bench did not start. */
  remote: boolean
}

export type Target = 'gateway' | 'backend' | 'reference'

export interface PhaseSpec {
  name: string
  durationS: number
  /** Whose URL the load goes to: the gateway (default), the mock backend directly, or the naive reference gateway. */
  target?: Target
  loads: LoadSpec[]
  stopWhen?: () => boolean
}

export interface PhaseRecord {
  /** Its position among the run's phases: the `phase` of its answers in the recorder. */
  index: number
  name: string
  target: Target
  /** ms on the recorder's clock. */
  start: number
  end: number
  loads: LoadResult[]
  /** Share of one core each process used during the phase (bench = the load generator). */
  cpu: Record<string, number>
}

/** Numbers a scenario measures beyond the common figures (ratios, Redis commands, ...). */
export type Extras = Record<string, number | string | boolean | null>

export interface ScenarioContext {
  options: ResolvedOptions
  stack: Stack
  recorder: Recorder
  /** The gateway /metrics samples so far. */
  samples: () => readonly MetricsSample[]
  signal: AbortSignal
  /** Runs a measured phase (starting the clock on the first one). */
  phase: (spec: PhaseSpec) => Promise<PhaseRecord>
  /** Unmeasured traffic before the clock starts: JIT warm-up, device cookies, pre-blocked keys. */
  warmUp: (spec: PhaseSpec) => Promise<void>
  /** Schedules a fault from `fromS` to `toS` seconds after measuring started; the window gets the actual times. */
  fault: (label: string, fromS: number, toS: number, begin: () => Promise<void>, end: () => Promise<void>) => FaultWindow
  /** Awaits every scheduled fault action (so none runs during teardown). */
  settleFaults: () => Promise<void>
  log: (message: string) => void
}

export type RunOutcome = { kind: 'ran', extras: Extras } | { kind: 'skipped', reason: string }

export interface BackendSecond {
  /** Second since measuring started. */
  s: number
  calls: number
  errors: number
  maxInFlight: number
}

export interface SloInput {
  figures: Figures
  /** What reached the mock backend, per second (own stack only). */
  backend: BackendSecond[]
  recoveries: Recovery[]
  extras: Extras
  samples: MetricsSample[]
  faults: FaultWindow[]
}

export interface Scenario {
  name: string
  summary: string
  defaults: { durationS: number, model: LoadModel }
  /** Fault injection needs the bench's own backend, providers or Redis: skipped with --target. */
  needsOwnStack: boolean
  /** Also start the naive reference gateway (bench/reference/naive-gateway.ts) as a phase target. */
  startsReference?: boolean
  /** Gateway settings this scenario needs on top of the bench's (stack/gateway-env.ts). */
  gatewayEnv?: Record<string, string>
  run: (ctx: ScenarioContext) => Promise<RunOutcome>
  objectives: (input: SloInput) => Objective[]
}
