// Everything the traffic saw, one row per answer and one per finished login flow, on one clock
// that starts when measuring starts (warm-up traffic is not recorded). Figures are computed
// from these rows afterwards, by pure functions.
import { type Answer, classifyAnswer, type Outcome, type Step, type TrafficClass } from './classify.js'

export interface ResponseRecord {
  /** ms since measuring started, when the answer arrived. */
  t: number
  cls: TrafficClass
  step: Step
  /** 0 when no answer came (timeout, connection reset). */
  status: number
  code: string
  outcome: Outcome
  latencyMs: number
  retryAfterS: number | undefined
  /** Index into the run's phases. */
  phase: number
}

export interface FlowRecord {
  cls: TrafficClass
  start: number
  end: number
  /** Ended signed in (with the second factor where one was asked). */
  ok: boolean
  /** The code that ended it: 'authenticated' or the problem code (or 'transport'). */
  code: string
  /** Answered by a limit or rule (429, request_blocked, challenge_required). */
  blocked: boolean
  /**
   * The sum of the flow's request latencies: the time the user waited on the gateway. Unlike
   * end - start it leaves out think time and the open model's pacing between steps.
   */
  waitedMs: number
  phase: number
}

export interface Recorder {
  /** Starts the clock: rows are kept from now on. */
  start: () => void
  recording: () => boolean
  /** Drops rows while muted (unmeasured traffic between measured phases); the clock runs on. */
  mute: (muted: boolean) => void
  /** ms since start; -1 before, so that flows begun in warm-up can be told apart. */
  now: () => number
  setPhase: (index: number) => void
  answer: (cls: TrafficClass, step: Step, answer: Answer, latencyMs: number) => void
  /** A request that got no answer. */
  lost: (cls: TrafficClass, step: Step, latencyMs: number) => void
  flow: (cls: TrafficClass, f: { startedAt: number, ok: boolean, code: string, blocked: boolean, waitedMs: number }) => void
  readonly responses: ResponseRecord[]
  readonly flows: FlowRecord[]
}

export function createRecorder (clock: () => number = () => performance.now()): Recorder {
  const responses: ResponseRecord[] = []
  const flows: FlowRecord[] = []
  let t0: number | undefined
  let muted = false
  let phase = 0
  const now = () => t0 === undefined ? -1 : clock() - t0

  return {
    start () { t0 = clock() },
    recording: () => t0 !== undefined,
    mute (m) { muted = m },
    now,
    setPhase (index) { phase = index },
    answer (cls, step, a, latencyMs) {
      if (t0 === undefined || muted) return
      responses.push({ t: now(), cls, step, status: a.status, code: a.code, outcome: classifyAnswer(a.status, a.code), latencyMs, retryAfterS: a.retryAfterS, phase })
    },
    lost (cls, step, latencyMs) {
      if (t0 === undefined || muted) return
      responses.push({ t: now(), cls, step, status: 0, code: 'transport', outcome: 'transport', latencyMs, retryAfterS: undefined, phase })
    },
    flow (cls, f) {
      // A flow begun during warm-up and ended after the clock started is not counted: its start is unknown.
      if (t0 === undefined || muted || f.startedAt < 0) return
      flows.push({ cls, start: f.startedAt, end: now(), ok: f.ok, code: f.code, blocked: f.blocked, waitedMs: f.waitedMs, phase })
    },
    responses,
    flows
  }
}
