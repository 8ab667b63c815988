// The memory behind the insurance limiters (counter.ts): what every limit counts while Redis is
// down. rate-limiter-flexible's own MemoryStorage keeps every key it ever saw until its window
// ends, each with a timer of its own; in an outage, an attack from 100 000 fresh addresses
// filled the 128 MB heap in 37 s and the gateway died (bench/RESULTS.md). This store has the
// same semantics (a fixed window from the first point, values and expiries read the same) but
// one bound for all limits of the process, and no timers.
//
// What goes first when it is full (a segmented LRU): a key counted once, oldest first. A key
// counted twice or more (an address or account being tried again, a block, the global count)
// moves to a protected part of at most four fifths of the bound, whose least recently counted
// key, when it overflows, goes back among the keys counted once as their newest. A flood of
// one-shot addresses and usernames thus churns the first part only, and an account under a slow
// attack keeps its count; to make the protected part forget, an attacker must bring more keys
// than the bound, each twice; and a new key always has a fifth of the bound to be counted in. A
// forgotten key starts a new window if it comes back: its budget is whole again.
import { performance } from 'node:perf_hooks'
import { RateLimiterRes } from 'rate-limiter-flexible'
import { walker } from '../infra/oldest-first.js'

interface Entry {
  value: number
  /** When the window ends (ms on the storage's clock); Infinity for a key without expiry. */
  until: number
}

/** What RateLimiterMemory asks of its storage (rate-limiter-flexible 11: `_memoryStorage`). */
export interface InsuranceStorage {
  incrby: (key: string, value: number, durationS: number) => RateLimiterRes
  set: (key: string, value: number, durationS: number) => RateLimiterRes
  get: (key: string) => RateLimiterRes | null
  delete: (key: string) => boolean
  /** Keys held now (expired ones not yet swept included). */
  readonly size: number
}

// Without a clock given, a monotonic one: a wall clock stepped back would lengthen every window.
// The app passes its own, which the other limits read too, so that tests can move it.
const monotonic = () => performance.timeOrigin + performance.now()
// Entries of each part checked for expiry per write: the whole store is swept, a few at a
// time, in the time it takes to write it once over (else expired keys wait to be pushed out).
const SWEEP_PER_WRITE = 2

export function createInsuranceStorage (maxEntries: number, now: () => number = monotonic): InsuranceStorage {
  const once = new Map<string, Entry>()
  const again = new Map<string, Entry>()
  const maxAgain = Math.floor(maxEntries * 0.8)
  // The time of the call being served: read by live and left (no closure per call).
  let at = 0
  const left = (e: Entry) => e.until === Infinity ? -1 : e.until - at
  const live = (e: Entry) => e.until > at
  const find = (key: string) => once.get(key) ?? again.get(key)
  // Each part has a walker that takes out its oldest entries and one that sweeps for expiry.
  type Part = ReturnType<typeof partOf>
  const partOf = (map: Map<string, Entry>) => ({ map, oldest: walker(map), sweep: walker(map) })
  const onceWalk = partOf(once)
  const againWalk = partOf(again)
  const parts = [onceWalk, againWalk]

  function takeOldest (part: Part): [string, Entry] | undefined {
    const e = part.oldest() ?? part.oldest()
    if (e !== undefined) part.map.delete(e[0])
    return e
  }

  function wrote (): void {
    while (again.size > maxAgain) {
      const demoted = takeOldest(againWalk)
      if (demoted === undefined) break
      once.set(demoted[0], demoted[1])
    }
    while (once.size + again.size > maxEntries) {
      if (takeOldest(onceWalk) === undefined && takeOldest(againWalk) === undefined) break
    }
    for (const part of parts) {
      for (let i = 0; i < SWEEP_PER_WRITE; i++) {
        const e = part.sweep()
        if (e === undefined) break
        if (!live(e[1])) part.map.delete(e[0])
      }
    }
  }

  // A new window for `key` in `map`, whatever the key held before.
  function start (map: Map<string, Entry>, key: string, value: number, durationS: number): RateLimiterRes {
    const durationMs = durationS * 1000
    once.delete(key)
    again.delete(key)
    map.set(key, { value, until: durationMs > 0 ? at + durationMs : Infinity })
    wrote()
    return new RateLimiterRes(0, durationMs > 0 ? durationMs : -1, value, true)
  }

  return {
    // A block, a reset window: deliberate, so kept with the keys counted again.
    set (key, value, durationS) {
      at = now()
      return start(again, key, value, durationS)
    },
    incrby (key, value, durationS) {
      at = now()
      const e = find(key)
      // A new window is counted once.
      if (e === undefined || !live(e)) return start(once, key, value, durationS)
      e.value += value
      // Counted again: to the protected part, as its most recent key.
      once.delete(key)
      again.delete(key)
      again.set(key, e)
      wrote()
      return new RateLimiterRes(0, left(e), e.value, false)
    },
    get (key) {
      const e = find(key)
      if (e === undefined) return null
      at = now()
      if (!live(e)) {
        once.delete(key)
        again.delete(key)
        return null
      }
      return new RateLimiterRes(0, left(e), e.value, false)
    },
    delete: key => once.delete(key) || again.delete(key),
    get size () { return once.size + again.size }
  }
}
