// The ScenarioContext a scenario runs on: phases on one clock, faults on a schedule, and
// the bookkeeping (phase records, fault windows) the report needs afterwards.
import { type MetricsSample } from './measure/metrics-sampler.js'
import { type Recorder } from './measure/recorder.js'
import { type FaultWindow } from './measure/timeline.js'
import { type PhaseRecord, type PhaseSpec, type ResolvedOptions, type ScenarioContext, type Target } from './scenarios/types.js'
import { type Stack } from './stack/stack.js'
import { cpuShares, cpuSnapshot } from './stack/cpu.js'
import { runLoad } from './traffic/load.js'

export interface ContextState {
  ctx: ScenarioContext
  phases: PhaseRecord[]
  faults: FaultWindow[]
  /** Cancels fault timers not yet fired. */
  clear: () => void
}

export function createContext (options: ResolvedOptions, stack: Stack, recorder: Recorder, samples: () => readonly MetricsSample[], signal: AbortSignal, log: (m: string) => void): ContextState {
  const phases: PhaseRecord[] = []
  const faults: FaultWindow[] = []
  const timers = new Set<NodeJS.Timeout>()
  const actions: Array<Promise<void>> = []
  const pending: Array<() => void> = []

  const urlFor = (target: Target) => {
    if (target === 'gateway') return stack.gatewayUrl
    if (target === 'reference') {
      if (stack.reference === undefined) throw new Error('this phase needs the naive reference gateway (Scenario.startsReference)')
      return stack.reference.url
    }
    if (stack.backend === undefined) throw new Error('this phase needs the bench\'s own mock backend')
    return stack.backend.url
  }

  const at = (seconds: number, fn: () => void) => {
    const delay = Math.max(0, seconds * 1000 - recorder.now())
    const timer = setTimeout(() => { timers.delete(timer); fn() }, delay)
    timers.add(timer)
  }

  const ctx: ScenarioContext = {
    options,
    stack,
    recorder,
    samples,
    signal,
    log,
    async warmUp (spec) {
      if (signal.aborted) return
      recorder.mute(true)
      try {
        await runLoad({ url: urlFor(spec.target ?? 'gateway'), durationS: spec.durationS, loads: spec.loads, recorder, signal, ...(spec.stopWhen ? { stopWhen: spec.stopWhen } : {}) })
      } finally {
        recorder.mute(false)
      }
    },
    async phase (spec: PhaseSpec) {
      if (!recorder.recording()) {
        recorder.start()
        for (const schedule of pending.splice(0)) schedule()
      }
      const target = spec.target ?? 'gateway'
      recorder.setPhase(phases.length)
      const record: PhaseRecord = { index: phases.length, name: spec.name, target, start: recorder.now(), end: recorder.now(), loads: [], cpu: {} }
      phases.push(record)
      const cpuBefore = await cpuSnapshot(stack.pids())
      record.start = recorder.now()
      if (!signal.aborted) {
        record.loads = await runLoad({ url: urlFor(target), durationS: spec.durationS, loads: spec.loads, recorder, signal, ...(spec.stopWhen ? { stopWhen: spec.stopWhen } : {}) })
      }
      record.end = recorder.now()
      record.cpu = cpuShares(cpuBefore, await cpuSnapshot(stack.pids()), record.end - record.start)
      return record
    },
    fault (label, fromS, toS, begin, end) {
      const window: FaultWindow = { label, start: fromS * 1000, end: toS * 1000 }
      faults.push(window)
      const schedule = () => at(fromS, () => {
        window.start = recorder.now()
        log(`fault: ${label} begins`)
        actions.push(begin().catch(err => log(`fault ${label} failed to begin: ${(err as Error).message}`)))
        at(toS, () => {
          window.end = recorder.now()
          log(`fault: ${label} ends`)
          actions.push(end().catch(err => log(`fault ${label} failed to end: ${(err as Error).message}`)))
        })
      })
      // Fault times count from the start of measuring: before that, wait for it.
      if (recorder.recording()) schedule()
      else pending.push(schedule)
      return window
    },
    async settleFaults () { await Promise.all(actions) }
  }
  return {
    ctx,
    phases,
    faults,
    clear () { for (const t of timers) clearTimeout(t); timers.clear() }
  }
}
