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
}

export interface Breaker<A extends unknown[], R> {
  fire: (...args: A) => Promise<R>
  state: () => BreakerState
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
  const breaker = new CircuitBreaker<A, R>(action, {
    name,
    timeout: settings.timeoutMs,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    volumeThreshold: settings.volumeThreshold,
    resetTimeout: settings.resetTimeoutMs,
    rollingCountTimeout: settings.windowMs,
    rollingCountBuckets: 10,
    // Neither a client error (4xx) nor a call the caller cancelled says anything of the dependency's health.
    errorFilter: (err: { statusCode?: unknown }) => err instanceof CallCancelled ||
      (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)
  })
  let openedAt = 0

  const state = (): BreakerState => breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed'
  const record = (next: BreakerState) => {
    for (const s of BREAKER_STATES) metrics.breakerState.set({ breaker: name, state: s }, s === next ? 1 : 0)
    metrics.breakerTransitions.inc({ breaker: name, state: next })
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
    // opossum's timer runs on the real clock, so this does too.
    msUntilProbe: () => breaker.opened ? Math.max(0, openedAt + settings.resetTimeoutMs - Date.now()) : 0,
    shutdown: () => breaker.shutdown()
  }
}

/** True when opossum refused the call itself: breaker open (or a half-open probe already out). */
export function isBreakerRejection (err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'EOPENBREAKER' || code === 'ESHUTDOWN'
}
