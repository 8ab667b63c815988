// opossum circuit breakers with their telemetry wired once, here: call sites keep no books.
import CircuitBreaker from 'opossum'
import { type Logger } from 'pino'
import { BREAKER_STATES, type BreakerState, type Metrics } from '../infra/metrics.js'

export interface BreakerSettings {
  errorThresholdPercentage: number
  /** Calls in the window before the breaker may open: without it one early failure opens it. */
  volumeThreshold: number
  resetTimeoutMs: number
  windowMs: number
  /** A backstop: the action should time out by itself (and cancel its work) before this. */
  timeoutMs: number
  /**
   * Brownout: calls slower than `thresholdMs` still return their answer but count as slow; when
   * at least `ratePercent` of the window's calls (past the volume threshold) were slow, the
   * breaker opens. opossum only knows failures and timeouts, so this part is ours.
   */
  slowCalls?: { thresholdMs: number, ratePercent: number }
}

export interface Breaker<A extends unknown[], R> {
  fire: (...args: A) => Promise<R>
  state: () => BreakerState
  /** Called on every state change, after the breaker's own bookkeeping; `forced` for open()/close(). */
  onStateChange: (listener: (state: BreakerState, forced: boolean) => void) => void
  /** Opens (or re-opens, restarting the reset timer) from outside: another replica's verdict. */
  open: () => void
  /** Closes from outside: another replica's probe found the dependency back. */
  close: () => void
  /** Milliseconds until an open breaker lets a probe through (0 when closed). */
  msUntilProbe: () => number
  shutdown: () => void
}

export interface BreakerTelemetry {
  log: Logger
  metrics: Metrics
}

/** Thrown by an action the caller called off (a hedged send that lost): says nothing of the dependency. */
export class CallCancelled extends Error {
  readonly cancelled = true
  constructor (options?: ErrorOptions) {
    super('call cancelled by the caller', options)
    this.name = 'CallCancelled'
  }
}

export function createBreaker<A extends unknown[], R> (
  name: string,
  action: (...args: A) => Promise<R>,
  settings: BreakerSettings,
  { log, metrics }: BreakerTelemetry
): Breaker<A, R> {
  const slow = settings.slowCalls ? createSlowCallWindow(settings.windowMs) : undefined
  // A call judges only the state it started in: a slow call fired before the breaker opened
  // must not reopen it right after its probe closed it again.
  let epoch = 0
  const timed = async (...args: A): Promise<R> => {
    const started = performance.now()
    const startedIn = epoch
    try {
      return await action(...args)
    } finally {
      if (slow && settings.slowCalls && startedIn === epoch) {
        slow.record(performance.now() - started >= settings.slowCalls.thresholdMs)
        if (breaker.closed && slow.calls() >= settings.volumeThreshold && slow.ratePercent() >= settings.slowCalls.ratePercent) {
          log.warn({ breaker: name, slowCalls: slow.slow(), calls: slow.calls(), thresholdMs: settings.slowCalls.thresholdMs }, 'breaker opening on slow calls')
          breaker.open()
        }
      }
    }
  }
  const breaker: CircuitBreaker<A, R> = new CircuitBreaker<A, R>(timed, {
    name,
    timeout: settings.timeoutMs,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    volumeThreshold: settings.volumeThreshold,
    resetTimeout: settings.resetTimeoutMs,
    rollingCountTimeout: settings.windowMs,
    rollingCountBuckets: 10,
    errorFilter: (err: unknown): boolean => isNoFailure(err, breaker.halfOpen)
  })
  let openedAt = 0
  let forcing = false
  const listeners: Array<(state: BreakerState, forced: boolean) => void> = []

  const state = (): BreakerState => breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed'
  const record = (next: BreakerState) => {
    for (const s of BREAKER_STATES) metrics.breakerState.set({ breaker: name, state: s }, s === next ? 1 : 0)
    metrics.breakerTransitions.inc({ breaker: name, state: next })
    epoch++
    slow?.reset()
    for (const listener of listeners) listener(next, forcing)
  }
  for (const s of BREAKER_STATES) metrics.breakerState.set({ breaker: name, state: s }, s === 'closed' ? 1 : 0)

  breaker.on('open', () => {
    openedAt = Date.now()
    const { fires, failures } = breaker.stats
    log.warn({ breaker: name, fires, failures, resetTimeoutMs: settings.resetTimeoutMs }, 'breaker opened')
    record('open')
  })
  breaker.on('halfOpen', () => {
    log.info({ breaker: name }, 'breaker half-open, probing')
    record('half_open')
  })
  breaker.on('close', () => {
    log.info({ breaker: name }, 'breaker closed')
    record('closed')
  })
  breaker.on('failure', () => metrics.breakerEvents.inc({ breaker: name, event: 'failure' }))
  breaker.on('timeout', () => metrics.breakerEvents.inc({ breaker: name, event: 'timeout' }))
  breaker.on('reject', () => metrics.breakerEvents.inc({ breaker: name, event: 'reject' }))

  return {
    fire: (...args: A) => breaker.fire(...args),
    state,
    onStateChange: listener => { listeners.push(listener) },
    open: () => { forcing = true; try { breaker.open() } finally { forcing = false } },
    close: () => { forcing = true; try { breaker.close() } finally { forcing = false } },
    // opossum's timer runs on the real clock, so this does too.
    msUntilProbe: () => breaker.opened ? Math.max(0, openedAt + settings.resetTimeoutMs - Date.now()) : 0,
    shutdown: () => breaker.shutdown()
  }
}

// HTTP 408 and 429: the dependency is up but asks for time.
const ASKS_FOR_TIME = new Set([408, 429])

/**
 * opossum's errorFilter: true keeps an error out of the failure counts. Neither a client error
 * (4xx) nor a call the caller cancelled says anything of the dependency's health, so none opens
 * a closed breaker. But opossum 9 counts a filtered error as a success, and a success on the
 * half-open probe closes the breaker: a dependency asking for time must not, so on the probe
 * 408 and 429 count as its failure and the breaker opens again for another reset timeout.
 */
function isNoFailure (err: unknown, probing: boolean): boolean {
  if (err instanceof CallCancelled) return true
  const status = (err as { statusCode?: unknown } | null)?.statusCode
  if (typeof status !== 'number' || status < 400 || status >= 500) return false
  return !(probing && ASKS_FOR_TIME.has(status))
}

/** True when opossum refused the call itself: breaker open (or a half-open probe already out). */
export function isBreakerRejection (err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'EOPENBREAKER' || code === 'ESHUTDOWN'
}

/** Calls and slow calls over a rolling window of ten buckets. */
function createSlowCallWindow (windowMs: number) {
  const bucketMs = Math.max(1, Math.floor(windowMs / 10))
  let buckets: Array<{ at: number, calls: number, slow: number }> = []
  const live = () => {
    const now = Date.now()
    buckets = buckets.filter(b => now - b.at < windowMs)
    return buckets
  }
  const sum = (k: 'calls' | 'slow') => live().reduce((n, b) => n + b[k], 0)
  return {
    record (isSlow: boolean) {
      const now = Date.now()
      let bucket = buckets.at(-1)
      if (bucket === undefined || now - bucket.at >= bucketMs) buckets.push(bucket = { at: now, calls: 0, slow: 0 })
      bucket.calls++
      if (isSlow) bucket.slow++
    },
    calls: () => sum('calls'),
    slow: () => sum('slow'),
    ratePercent: () => {
      const calls = sum('calls')
      return calls === 0 ? 0 : (sum('slow') / calls) * 100
    },
    reset: () => { buckets = [] }
  }
}
