import { type RedisClient } from './redis.js'
import { GatewayError } from '../errors.js'

const STORE_RETRY_AFTER_S = 2

/**
 * Whether the Redis behind the stores can be counted on now: connected, and no command failed
 * in the last `quietMs`. Logins ask before calling the backend, so that a Redis outage costs
 * no backend call and answers a right and a wrong password alike.
 */
export interface StoreHealth {
  available: () => boolean
  failed: () => void
}

export function createStoreHealth (redis: RedisClient | null, now: () => number = Date.now, quietMs = 1000): StoreHealth {
  let lastFailure = -Infinity
  return {
    available: () => redis === null || (redis.status === 'ready' && now() - lastFailure >= quietMs),
    failed: () => { lastFailure = now() }
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
        health.failed()
        throw storeUnavailable(err)
      }
    }
  }
  return guarded as T
}
