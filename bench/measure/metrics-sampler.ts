// Reads the gateway's /metrics once a second while a scenario runs: breaker and provider
// states, memory, event-loop delay, and its own count of 5xx answers as a cross-check.
import { type Recorder } from './recorder.js'
import { breakerStates, parsePromText, type PromSample, sumOf } from './prom-text.js'

export interface MetricsSample {
  /** ms on the recorder's clock. */
  t: number
  breakers: Record<string, string>
  rssMb: number | undefined
  heapUsedMb: number | undefined
  /** p99 of the event-loop delay since the previous scrape (prom-client resets it per scrape). */
  eventLoopP99Ms: number | undefined
  /** Cumulative answers with a 5xx status other than 503, by the gateway's own count. */
  http5xx: number
  http503: number
  /** Cumulative sends per provider and outcome (lg_otp_provider_sends_total). */
  otpSends: Record<string, number>
  blockCacheHits: number
  insuranceChecks: number
  /** Sessions the gateway holds in process for a Redis outage (lg_session_grace_copies). */
  sessionGraceCopies: number | undefined
}

/** One sample from a scrape (pure). */
export function toSample (t: number, samples: readonly PromSample[]): MetricsSample {
  const one = (name: string) => samples.find(s => s.name === name)?.value
  let http5xx = 0
  let http503 = 0
  for (const s of samples) {
    if (s.name !== 'lg_http_requests_total') continue
    if (s.labels.status === '503') http503 += s.value
    else if (s.labels.status?.startsWith('5') === true) http5xx += s.value
  }
  const otpSends: Record<string, number> = {}
  for (const s of samples) {
    if (s.name === 'lg_otp_provider_sends_total') otpSends[`${s.labels.provider ?? '?'}:${s.labels.outcome ?? '?'}`] = s.value
  }
  const rss = one('lg_process_resident_memory_bytes')
  const heap = one('lg_nodejs_heap_size_used_bytes')
  const lag = one('lg_nodejs_eventloop_lag_p99_seconds')
  return {
    t,
    breakers: breakerStates(samples),
    rssMb: rss === undefined ? undefined : rss / 1048576,
    heapUsedMb: heap === undefined ? undefined : heap / 1048576,
    eventLoopP99Ms: lag === undefined ? undefined : lag * 1000,
    http5xx,
    http503,
    otpSends,
    blockCacheHits: sumOf(samples, 'lg_limit_block_cache_hits_total'),
    insuranceChecks: sumOf(samples, 'lg_limit_insurance_total'),
    sessionGraceCopies: one('lg_session_grace_copies')
  }
}

export interface Sampler {
  samples: MetricsSample[]
  stop: () => Promise<void>
}

// An hour of samples at most: scenarios run for seconds to minutes.
const MAX_SAMPLES = 3600

export function startSampler (metricsUrl: string, recorder: Recorder, intervalMs = 1000): Sampler {
  const samples: MetricsSample[] = []
  const state = { stopped: false }
  let wake: () => void = () => {}
  const loop = (async () => {
    for (let n = 0; !state.stopped && n < MAX_SAMPLES; n++) {
      const started = performance.now()
      try {
        const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(Math.max(200, intervalMs - 100)) })
        const text = await res.text()
        if (recorder.recording() && res.ok) samples.push(toSample(recorder.now(), parsePromText(text)))
      } catch {
        // A missed scrape (gateway busy or down) is a gap in the charts, not an error.
      }
      const wait = Math.max(0, intervalMs - (performance.now() - started))
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, wait)
        wake = () => { clearTimeout(timer); resolve() }
      })
    }
  })()
  return {
    samples,
    async stop () {
      state.stopped = true
      wake()
      await loop
    }
  }
}
