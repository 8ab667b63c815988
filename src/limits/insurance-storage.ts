// The memory behind the insurance limiters (counter.ts): what every limit counts while Redis is
// down. rate-limiter-flexible's own MemoryStorage keeps every key it ever saw until its window
// ends, each with a timer of its own; in an outage, an attack from 100 000 fresh addresses
// filled the 128 MB heap in 37 s and the gateway died (bench/RESULTS.md). This store has the
// same semantics (a fixed window from the first point, values and expiries read the same) but
// one bound for all limits of the process, and no timer: the entry written least recently goes
// first, so a key being hammered (an account under brute force, the global count) stays, and
// the addresses a flood uses once go. A key forgotten early starts a fresh window if it comes
// back, the budget a new key starts with anyway.
import { RateLimiterRes } from 'rate-limiter-flexible'
import { dropOldest } from '../infra/oldest-first.js'
import { smallTicks } from '../infra/small-ticks.js'

// Expiries in 10 ms ticks: small integers inside the map's values, not heap numbers.
const TICK_MS = 10

interface Entry {
  value: number
  /** The tick the window ends at; 0 for a key without expiry. */
  until: number
}

/** What RateLimiterMemory asks of its storage (rate-limiter-flexible 11: `_memoryStorage`). */
export interface InsuranceStorage {
  incrby: (key: string, value: number, durationS: number) => RateLimiterRes
  set: (key: string, value: number, durationS: number) => RateLimiterRes
  get: (key: string) => RateLimiterRes | null
  delete: (key: string) => boolean
  /** Keys held now (expired ones not yet dropped included). */
  readonly size: number
}

export function createInsuranceStorage (maxEntries: number, now: () => number = Date.now): InsuranceStorage {
  const entries = new Map<string, Entry>()
  const ticks = smallTicks(now, TICK_MS)
  // Milliseconds left in the entry's window (-1 without expiry); 0 or less: it has ended.
  const left = (e: Entry, at: number) => e.until === 0 ? -1 : ticks.start(e.until) - at
  const live = (e: Entry, at: number) => e.until === 0 || left(e, at) > 0

  function set (key: string, value: number, durationS: number): RateLimiterRes {
    const durationMs = durationS * 1000
    // Deleted first, so that the map's order stays the order of last writes (dropOldest).
    entries.delete(key)
    entries.set(key, { value, until: durationMs > 0 ? ticks.ceil(now() + durationMs) : 0 })
    dropOldest(entries, maxEntries)
    return new RateLimiterRes(0, durationMs > 0 ? durationMs : -1, value, true)
  }

  return {
    set,
    incrby (key, value, durationS) {
      const e = entries.get(key)
      const at = now()
      if (e === undefined || !live(e, at)) return set(key, value, durationS)
      e.value += value
      entries.delete(key)
      entries.set(key, e)
      return new RateLimiterRes(0, left(e, at), e.value, false)
    },
    get (key) {
      const e = entries.get(key)
      const at = now()
      if (e === undefined) return null
      if (!live(e, at)) {
        entries.delete(key)
        return null
      }
      return new RateLimiterRes(0, left(e, at), e.value, false)
    },
    delete: key => entries.delete(key),
    get size () { return entries.size }
  }
}
