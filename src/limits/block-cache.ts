// Keys known to be blocked, answered in process without a Redis command: during an attack the
// gateway must spend less on refusing a request than the attacker spends on sending it.
// Bounded: past maxEntries the oldest entries go first (Map keeps insertion order).
import { dropOldest } from '../infra/oldest-first.js'
import { smallTicks } from '../infra/small-ticks.js'

export interface BlockCache {
  /** Milliseconds the key stays blocked, 0 if it is not known to be blocked. */
  msLeft: (key: string) => number
  add: (key: string, ms: number) => void
  delete: (key: string) => void
  size: () => number
}

export function createBlockCache (maxEntries: number, now: () => number = Date.now): BlockCache {
  // Ends in 10 ms ticks (rounded up): an address flood fills the cache, and a small integer per
  // key costs less than a timestamp.
  const ticks = smallTicks(now, 10)
  const until = new Map<string, number>()
  return {
    msLeft (key) {
      const end = until.get(key)
      if (end === undefined) return 0
      const left = ticks.start(end) - now()
      if (left > 0) return left
      until.delete(key)
      return 0
    },
    add (key, ms) {
      until.delete(key) // re-insert at the young end
      until.set(key, ticks.ceil(now() + ms))
      dropOldest(until, maxEntries)
    },
    delete: key => { until.delete(key) },
    size: () => until.size
  }
}
