// Prometheus text format, read just far enough for the bench (pure): samples with labels.

export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parsePromText (text: string): PromSample[] {
  const out: PromSample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (m?.[1] === undefined || m[3] === undefined) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) {
      if (l[1] !== undefined) labels[l[1]] = (l[2] ?? '').replace(/\\(.)/g, (_, c: string) => c === 'n' ? '\n' : c)
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    out.push({ name: m[1], labels, value })
  }
  return out
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sumOf (samples: readonly PromSample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0
  for (const s of samples) {
    if (s.name !== name) continue
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value
  }
  return sum
}

/** The current state of each breaker: the `state` label whose gauge is 1. */
export function breakerStates (samples: readonly PromSample[]): Record<string, string> {
  const states: Record<string, string> = {}
  for (const s of samples) {
    if (s.name === 'lg_breaker_state' && s.value === 1 && s.labels.breaker !== undefined && s.labels.state !== undefined) {
      states[s.labels.breaker] = s.labels.state
    }
  }
  return states
}
