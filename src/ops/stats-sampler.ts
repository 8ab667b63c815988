// Logins by outcome and refusals by problem code, per minute, for the console's live chart:
// sampled from the Prometheus counters every few seconds (deltas), the last 30 minutes kept.
import { type Metrics } from '../infra/metrics.js'

export interface MinuteStats {
  minute: string
  logins: Record<string, number>
  problems: Record<string, number>
}

export interface StatsSampler {
  /** Oldest first, the current minute last. */
  series: (minutes: number) => MinuteStats[]
  close: () => void
}

const KEEP_MINUTES = 30

export function createStatsSampler (metrics: Metrics, now: () => number = Date.now, everyMs = 5000): StatsSampler {
  const minutes: MinuteStats[] = []
  let last = { logins: new Map<string, number>(), problems: new Map<string, number>() }

  async function totals () {
    const logins = new Map<string, number>()
    for (const v of (await metrics.logins.get()).values) logins.set(String(v.labels.outcome), v.value)
    const problems = new Map<string, number>()
    for (const v of (await metrics.httpRequests.get()).values) {
      const code = String(v.labels.code ?? '')
      if (code !== '') problems.set(code, (problems.get(code) ?? 0) + v.value)
    }
    return { logins, problems }
  }

  function bucket (): MinuteStats {
    const minute = new Date(Math.floor(now() / 60_000) * 60_000).toISOString()
    let current = minutes.at(-1)
    if (current?.minute !== minute) {
      minutes.push(current = { minute, logins: {}, problems: {} })
      if (minutes.length > KEEP_MINUTES) minutes.shift()
    }
    return current
  }

  async function sample (): Promise<void> {
    const next = await totals()
    const b = bucket()
    for (const [k, v] of next.logins) b.logins[k] = (b.logins[k] ?? 0) + v - (last.logins.get(k) ?? 0)
    for (const [k, v] of next.problems) b.problems[k] = (b.problems[k] ?? 0) + v - (last.problems.get(k) ?? 0)
    last = next
  }

  const timer = setInterval(() => { sample().catch(() => undefined) }, everyMs)
  return {
    series (count) {
      bucket()
      return minutes.slice(-count)
    },
    close: () => { clearInterval(timer) }
  }
}
