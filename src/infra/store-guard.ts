import { performance } from 'node:perf_hooks'
import { type Logger } from 'pino'
import { GatewayError } from '../errors.js'
import { type Metrics } from './metrics.js'
import { type RedisClient } from './redis.js'

const STORE_RETRY_AFTER_S = 2

/**
 * How late a timed-out command's timer may fire and the timeout still be Redis's. A stalled
 * event loop (a cold start, a long GC, CPU taken by a neighbour) runs its timers before it
 * reads the replies that came in meanwhile, so a command Redis answered in time times out.
 * 25 ms: longer than any loop turn at 80% of peak (the bench's event-loop target is 20 ms p99).
 */
export const LATE_TIMER_MS = 25

/** ioredis's message when `commandTimeout` runs out. */
const COMMAND_TIMED_OUT = 'Command timed out'

/**
 * Whether a failed store call says Redis is failing. A timeout whose timer fired more than
 * LATE_TIMER_MS after its deadline says only that the gateway's own loop stood still: the
 * call fails, but it does not mark the store unavailable for every other login.
 */
export function blamesRedis (err: unknown, waitedMs: number, commandTimeoutMs: number): boolean {
  const timedOut = err instanceof Error && err.message === COMMAND_TIMED_OUT
  return !timedOut || waitedMs <= commandTimeoutMs + LATE_TIMER_MS
}

/**
 * Whether the Redis behind the stores can be counted on now: connected, and no store call failed
 * in the last `quietMs` in a way that blames Redis. Logins ask before calling the backend, so
 * that a Redis outage costs no backend call and answers a right and a wrong password alike.
 */
export interface StoreHealth {
  available: () => boolean
  /** A store call failed after waiting `waitedMs` (monotonic). */
  failed: (err: unknown, waitedMs: number) => void
}

export interface StoreHealthOptions {
  redis: RedisClient | null
  commandTimeoutMs: number
  log: Logger
  metrics: Metrics
  now: () => number
  quietMs?: number
}

export function createStoreHealth ({ redis, commandTimeoutMs, log, metrics, now, quietMs = 1000 }: StoreHealthOptions): StoreHealth {
  let lastFailure = -Infinity
  const quiet = () => now() - lastFailure >= quietMs
  return {
    available: () => redis === null || (redis.status === 'ready' && quiet()),
    failed: (err, waitedMs) => {
      const blamed = blamesRedis(err, waitedMs, commandTimeoutMs)
      metrics.storeFailures.inc({ blamed: blamed ? 'redis' : 'event_loop' })
      if (!blamed) return
      // Once per unavailable spell, not once per refused login.
      if (quiet()) log.warn({ err: { message: err instanceof Error ? err.message : String(err) }, waitedMs: Math.round(waitedMs), quietMs }, 'a Redis store call failed; logins refused until Redis answers again')
      lastFailure = now()
    }
  }
}

export function storeUnavailable (cause?: unknown): GatewayError {
  return new GatewayError('session_store_unavailable', { retryAfterSeconds: STORE_RETRY_AFTER_S, cause })
}

/**
 * Wraps every method of a Redis-backed store so that a store failure (connection refused,
 * command timeout) becomes `session_store_unavailable`: "Redis failed" is never a 500.
 */
export function guardStore<T extends object> (store: T, health: StoreHealth): T {
  const guarded = {} as Record<string, unknown>
  for (const [name, fn] of Object.entries(store)) {
    if (typeof fn !== 'function') continue
    guarded[name] = async (...args: unknown[]) => {
      const started = performance.now()
      try {
        return await fn(...args)
      } catch (err) {
        if (err instanceof GatewayError) throw err
        health.failed(err, performance.now() - started)
        throw storeUnavailable(err)
      }
    }
  }
  return guarded as T
}
