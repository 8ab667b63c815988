import { type Logger } from 'pino'
import { GatewayError } from '../errors.js'
import { type RedisClient } from './redis.js'

const STORE_RETRY_AFTER_S = 2

/**
 * Whether the Redis behind the stores can be counted on now: connected, and no store call failed
 * in the last `quietMs`. Logins ask before calling the backend, so that a Redis outage costs no
 * backend call and answers a right and a wrong password alike. On one node and Sentinel a call
 * fails on a timeout only when Redis has not answered in time, never because the gateway's own
 * loop stood still (redis-deadline.ts), so one failure is enough to believe.
 */
export interface StoreHealth {
  available: () => boolean
  failed: (err: unknown) => void
}

export interface StoreHealthOptions {
  redis: RedisClient | null
  log: Logger
  now: () => number
  quietMs?: number
}

export function createStoreHealth ({ redis, log, now, quietMs = 1000 }: StoreHealthOptions): StoreHealth {
  let lastFailure = -Infinity
  const quiet = () => now() - lastFailure >= quietMs
  return {
    available: () => redis === null || (redis.status === 'ready' && quiet()),
    failed: err => {
      // Once per spell of refusals, not once per refused login.
      if (quiet()) log.warn({ err: { message: err instanceof Error ? err.message : String(err) }, quietMs }, 'a Redis store call failed; new logins are refused for quietMs after each failure')
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
      try {
        return await fn(...args)
      } catch (err) {
        if (err instanceof GatewayError) throw err
        health.failed(err)
        throw storeUnavailable(err)
      }
    }
  }
  return guarded as T
}
