import { GatewayError } from '../errors.js'

const STORE_RETRY_AFTER_S = 2

/**
 * Wraps every method of a Redis-backed store so that a store failure (connection refused,
 * command timeout) becomes `session_store_unavailable`: "Redis failed" is never a 500.
 */
export function guardStore<T extends object> (store: T): T {
  const guarded = {} as Record<string, unknown>
  for (const [name, fn] of Object.entries(store)) {
    if (typeof fn !== 'function') continue
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args)
      } catch (err) {
        if (err instanceof GatewayError) throw err
        throw new GatewayError('session_store_unavailable', { retryAfterSeconds: STORE_RETRY_AFTER_S, cause: err })
      }
    }
  }
  return guarded as T
}
