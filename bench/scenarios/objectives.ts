// Objectives shared by scenarios (pure): what every run must show, and the usual per-class ones.
import { type TrafficClass } from '../measure/classify.js'
import { type Objective } from '../measure/slo.js'
import { type SloInput } from './types.js'

const describeCodes = (codes: Record<string, number>) => {
  const list = Object.keys(codes)
  return list.length === 0 ? '' : ` (${list.join(', ')})`
}

/** Every scenario: no 5xx but 503, Retry-After on every 429/503, every honest request answered. */
export function commonObjectives (input: SloInput): Objective[] {
  const gateway5xx = Math.max(0, ...input.samples.map(s => s.http5xx))
  return [
    { id: 'no_5xx', description: 'answers with a 5xx other than 503 (bench count and gateway /metrics)', op: '<=', target: 0, actual: Math.max(input.figures.serverErrors, gateway5xx), format: 'count' },
    { id: 'retry_after', description: `429 and 503 answers without Retry-After${describeCodes(input.figures.missingRetryAfterByCode)}`, op: '<=', target: 0, actual: input.figures.missingRetryAfter, format: 'count' },
    { id: 'honest_answered', description: 'honest requests left unanswered (timeout or reset)', op: '<=', target: 0, actual: input.figures.transport.honest ?? 0, format: 'count' }
  ]
}

export const honestSuccess = (input: SloInput, min: number): Objective =>
  ({ id: 'honest_success', description: 'honest login flows that ended signed in', op: '>=', target: min, actual: input.figures.honest?.successRate, format: 'percent' })

export const falsePositives = (input: SloInput, max: number): Objective =>
  ({ id: 'false_positives', description: 'honest login flows turned away by a limit or rule', op: '<=', target: max, actual: input.figures.honest?.falsePositiveRate ?? 0, format: 'percent' })

export function blockedAtLeast (input: SloInput, cls: TrafficClass, min: number): Objective {
  const c = input.figures.classes.find(x => x.cls === cls)
  return { id: `${cls}_blocked`, description: `${cls} attack requests blocked`, op: '>=', target: min, actual: c?.attack?.blockedRate, format: 'percent' }
}

export function honestP99 (input: SloInput, maxMs: number): Objective {
  const c = input.figures.classes.find(x => x.cls === 'honest')
  return { id: 'honest_p99', description: 'honest request latency p99', op: '<=', target: maxMs, actual: c?.latency.p99, format: 'ms' }
}

export function recoveredWithin (input: SloInput, label: string, maxS: number): Objective {
  const r = input.recoveries.find(x => x.label === label)
  return { id: `recovery_${label.replace(/\W+/g, '_')}`, description: `honest users back to normal after "${label}"`, op: '<=', target: maxS, actual: r?.seconds, format: 's' }
}

/** A number from the scenario's extras, as an objective. */
export function extraObjective (input: SloInput, key: string, description: string, op: '>=' | '<=', target: number, format: Objective['format']): Objective {
  const v = input.extras[key]
  return { id: key, description, op, target, actual: typeof v === 'number' ? v : undefined, format }
}

/** Answers with this problem code, over every class: none, where its cause was known to be fine. */
export function codeAtMost (input: SloInput, code: string, max: number, description: string): Objective {
  const actual = input.figures.classes.reduce((n, c) => n + (c.codes[code] ?? 0), 0)
  return { id: `code_${code}`, description, op: '<=', target: max, actual, format: 'count' }
}
