// Service-level objectives (pure): each scenario states its own, the bench evaluates them on
// the measured figures, and any miss makes the command exit non-zero (a release gate).

export type SloFormat = 'percent' | 'count' | 'decimal' | 'ms' | 's' | 'ratio' | 'mb'

export interface Objective {
  id: string
  description: string
  op: '>=' | '<='
  target: number
  /** undefined/null: could not be measured in this run, which fails the objective. */
  actual: number | null | undefined
  format: SloFormat
  /** Said with the result (e.g. the most this machine allows); a measurement gap replaces it. */
  note?: string
}

export interface SloResult extends Objective {
  pass: boolean
}

export function evaluateSlo (o: Objective): SloResult {
  if (o.actual === null || o.actual === undefined || Number.isNaN(o.actual)) {
    return { ...o, actual: null, pass: false, note: 'not measured in this run' }
  }
  const pass = o.op === '>=' ? o.actual >= o.target : o.actual <= o.target
  return { ...o, pass }
}

export const evaluateSlos = (objectives: readonly Objective[]): SloResult[] => objectives.map(evaluateSlo)

export const allPassed = (results: readonly SloResult[]): boolean => results.every(r => r.pass)

/** A value as the report prints it. */
export function formatValue (value: number | null | undefined, format: SloFormat): string {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a'
  switch (format) {
    case 'percent': return `${(value * 100).toFixed(value === 1 || value === 0 ? 0 : 2)}%`
    case 'count': return String(Math.round(value))
    case 'decimal': return value.toFixed(4)
    case 'ms': return `${value.toFixed(value < 10 ? 2 : 1)} ms`
    case 's': return `${value.toFixed(1)} s`
    case 'ratio': return `${value.toFixed(2)}x`
    case 'mb': return `${value.toFixed(0)} MB`
  }
}
