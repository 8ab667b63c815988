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

/**
 * Takes out the oldest entry of `map`, in insertion order. One iterator kept across calls: a
 * fresh one would walk every slot V8 keeps for deleted keys until the map is rebuilt.
 */
function oldestFirst<V> (map: Map<string, V>): () => [string, V] | undefined {
  let cursor = map.entries()
  return () => {
    let next = cursor.next()
    if (next.done === true) {
      cursor = map.entries()
      next = cursor.next()
    }
    if (next.done === true) return undefined
    map.delete(next.value[0])
    return next.value
  }
}

/** Checks the next `n` entries of `map` after the last ones checked, and deletes those `expired`. */
function sweeper<V> (map: Map<string, V>, expired: (value: V) => boolean): (n: number) => void {
  let cursor = map.entries()
  return n => {
    for (let i = 0; i < n; i++) {
      const next = cursor.next()
      if (next.done === true) {
        cursor = map.entries()
        return
      }
      if (expired(next.value[1])) map.delete(next.value[0])
    }
  }
}

export function createInsuranceStorage (maxEntries: number, now: () => number = monotonic): InsuranceStorage {
  const once = new Map<string, Entry>()
  const again = new Map<string, Entry>()
  const oldestOnce = oldestFirst(once)
  const oldestAgain = oldestFirst(again)
  const maxAgain = Math.floor(maxEntries * 0.8)
  // The time of the call being served: read by live, left and the sweepers (no closure per call).
  let at = 0
  const left = (e: Entry) => e.until === Infinity ? -1 : e.until - at
  const live = (e: Entry) => e.until > at
  const sweepOnce = sweeper(once, e => !live(e))
  const sweepAgain = sweeper(again, e => !live(e))
  const find = (key: string) => once.get(key) ?? again.get(key)

  function wrote (): void {
    while (again.size > maxAgain) {
      const demoted = oldestAgain()
      if (demoted === undefined) break
      once.set(demoted[0], demoted[1])
    }
    while (once.size + again.size > maxEntries) {
      if (oldestOnce() === undefined && oldestAgain() === undefined) break
    }
    sweepOnce(SWEEP_PER_WRITE)
    sweepAgain(SWEEP_PER_WRITE)
  }

  // A block, a reset window: deliberate, so kept with the keys counted again.
  function set (key: string, value: number, durationS: number): RateLimiterRes {
    const durationMs = durationS * 1000
    at = now()
    once.delete(key)
    again.delete(key)
    again.set(key, { value, until: durationMs > 0 ? at + durationMs : Infinity })
    wrote()
    return new RateLimiterRes(0, durationMs > 0 ? durationMs : -1, value, true)
  }

  return {
    set,
    incrby (key, value, durationS) {
      at = now()
      const e = find(key)
      if (e === undefined || !live(e)) {
        // A new window, counted once.
        again.delete(key)
        const durationMs = durationS * 1000
        once.delete(key)
        once.set(key, { value, until: durationMs > 0 ? at + durationMs : Infinity })
        wrote()
        return new RateLimiterRes(0, durationMs > 0 ? durationMs : -1, value, true)
      }
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
