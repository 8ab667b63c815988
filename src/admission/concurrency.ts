// A cap on requests in the login pipeline at once, with a short bounded wait: rejecting early
// beats timing out late. Requests that finish a login already under way, or check a session of
// someone already signed in, are "critical": they may use every slot and wait first in line,
// while new logins keep `reservedForCritical` slots free for them.

export type Criticality = 'critical' | 'normal'

export interface ConcurrencyLimiter {
  /** Resolves with a release function, or with null once `maxWaitMs` passed without a slot. */
  acquire: (criticality: Criticality) => Promise<(() => void) | null>
  /** Whether acquire would grant a slot at once. */
  free: (criticality: Criticality) => boolean
  inFlight: () => number
}

export interface ConcurrencyOptions {
  max: number
  reservedForCritical: number
  maxWaitMs: number
}

interface Waiter {
  criticality: Criticality
  grant: (release: (() => void) | null) => void
  timer: NodeJS.Timeout
}

export function createConcurrencyLimiter (o: ConcurrencyOptions): ConcurrencyLimiter {
  let active = 0
  const waiting: Record<Criticality, Waiter[]> = { critical: [], normal: [] }
  const limitFor = (c: Criticality) => c === 'critical' ? o.max : Math.max(1, o.max - o.reservedForCritical)

  function release (): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      active--
      wakeNext()
    }
  }

  function wakeNext (): void {
    for (const c of ['critical', 'normal'] as const) {
      const waiter = waiting[c][0]
      if (waiter !== undefined && active < limitFor(c)) {
        waiting[c].shift()
        clearTimeout(waiter.timer)
        active++
        waiter.grant(release())
        return
      }
    }
  }

  const free = (criticality: Criticality) => active < limitFor(criticality) && waiting[criticality].length === 0

  return {
    async acquire (criticality) {
      if (free(criticality)) {
        active++
        return release()
      }
      // A queue longer than the cap would only turn into timeouts: refuse at once instead.
      if (o.maxWaitMs === 0 || waiting[criticality].length >= o.max) return null
      return await new Promise(resolve => {
        const waiter: Waiter = {
          criticality,
          grant: resolve,
          timer: setTimeout(() => {
            waiting[criticality].splice(waiting[criticality].indexOf(waiter), 1)
            resolve(null)
          }, o.maxWaitMs)
        }
        waiting[criticality].push(waiter)
      })
    },
    free,
    inFlight: () => active
  }
}
