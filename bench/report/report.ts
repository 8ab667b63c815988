// The report of one scenario run: everything report.json holds, and what report.md and
// report.html are rendered from.
import { type Figures } from '../measure/figures.js'
import { type MetricsSample } from '../measure/metrics-sampler.js'
import { type SloResult } from '../measure/slo.js'
import { type FaultWindow, type Recovery, type TimelinePoint } from '../measure/timeline.js'
import { type BackendSecond, type Extras, type PhaseRecord } from '../scenarios/types.js'
import { type LoadModel } from '../traffic/mix.js'
import { type HotSpot } from './profile-summary.js'

export type RunStatus = 'passed' | 'failed' | 'skipped' | 'error'

export interface Report {
  scenario: string
  summary: string
  status: RunStatus
  /** Why it was skipped or errored. */
  reason?: string
  startedAt: string
  command: string
  machine: { cpus: number, cpuModel: string, node: string, platform: string, loadAverage: number[] }
  options: { durationS: number, model: LoadModel, remote: boolean, target: string, gateway: string }
  gatewayEnv: Record<string, string>
  overrides: Record<string, string>
  phases: PhaseRecord[]
  faults: FaultWindow[]
  figures: Figures | undefined
  recoveries: Recovery[]
  extras: Extras
  slos: SloResult[]
  timeline: TimelinePoint[]
  samples: MetricsSample[]
  backend: BackendSecond[]
  otpSinks: Record<string, { accepted: number, failed: number, hung: number }>
  hotSpots: HotSpot[]
}
