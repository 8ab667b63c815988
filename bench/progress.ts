// The live progress line: once a second, what the last second looked like. On a terminal it
// rewrites one line; otherwise (CI logs) it prints a line every five seconds.
import { type MetricsSample } from './measure/metrics-sampler.js'
import { isAttackStep } from './measure/classify.js'
import { type ResponseRecord } from './measure/recorder.js'
import { percentile } from './measure/stats.js'

export interface ProgressSource {
  scenario: string
  plannedS: number
  responses: readonly ResponseRecord[]
  samples: readonly MetricsSample[]
  now: () => number
}

/** The line for the answers recorded in the last second (pure). */
export function progressLine (name: string, elapsedS: number, plannedS: number, recent: readonly ResponseRecord[], sample: MetricsSample | undefined): string {
  const honest = recent.filter(r => r.cls === 'honest' && r.step !== 'idle')
  const good = honest.filter(r => r.outcome === 'success' || r.outcome === 'progress').length
  const attacks = recent.filter(r => isAttackStep(r.cls, r.step))
  const blocked = attacks.filter(r => r.outcome === 'blocked').length
  const errors = recent.filter(r => r.status >= 500 && r.status !== 503).length
  const p99 = percentile(honest.map(r => r.latencyMs).sort((a, b) => a - b), 99)
  const breakers = Object.entries(sample?.breakers ?? {}).filter(([, s]) => s !== 'closed').map(([b, s]) => `${b}=${s}`)
  const parts = [
    `[${name} ${Math.floor(elapsedS)}/${plannedS}s]`,
    `${recent.filter(r => r.step !== 'idle').length} req/s`,
    honest.length > 0 ? `honest ok ${((good / honest.length) * 100).toFixed(1)}% p99 ${Number.isNaN(p99) ? '-' : p99.toFixed(0)}ms` : 'honest -',
    attacks.length > 0 ? `attack blocked ${((blocked / attacks.length) * 100).toFixed(1)}%` : '',
    `5xx ${errors}`,
    breakers.length > 0 ? `open: ${breakers.join(' ')}` : 'breakers closed'
  ]
  return parts.filter(Boolean).join('  ')
}

export function startProgress (src: ProgressSource, out: NodeJS.WriteStream = process.stderr): () => void {
  let seen = 0
  let ticks = 0
  const tty = out.isTTY
  const timer = setInterval(() => {
    const t = src.now()
    if (t < 0) return
    const end = src.responses.length
    const recent = src.responses.slice(seen, end)
    seen = end
    const line = progressLine(src.scenario, t / 1000, src.plannedS, recent, src.samples[src.samples.length - 1])
    if (tty) out.write(`\r\x1b[2K${line}`)
    else if (++ticks % 5 === 0) out.write(`${line}\n`)
  }, 1000)
  return () => {
    clearInterval(timer)
    if (tty) out.write('\n')
  }
}
