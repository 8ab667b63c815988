// A cap on concurrent calls to one dependency. Written by hand (a counter) rather than with
// opossum's `capacity`: opossum counts its own "semaphore locked" refusals as failures of the
// dependency (or, once filtered, as successes that close a half-open breaker), while a burst
// of healthy traffic says nothing about the dependency's health.
export interface Bulkhead {
  /** Runs `fn`, or returns `undefined` at once when `max` calls are already running. */
  tryRun: <T>(fn: () => Promise<T>) => Promise<T> | undefined
  active: () => number
}

export function createBulkhead (max: number): Bulkhead {
  let active = 0
  return {
    tryRun<T> (fn: () => Promise<T>) {
      if (active >= max) return undefined
      active++
      const release = () => { active-- }
      let run: Promise<T>
      try {
        run = fn()
      } catch (err) {
        release()
        throw err
      }
      run.then(release, release)
      return run
    },
    active: () => active
  }
}
