// Keys known to be blocked, answered in process without a Redis command: during an attack the
// gateway must spend less on refusing a request than the attacker spends on sending it.
// Bounded: past maxEntries the oldest entries go first (Map keeps insertion order).

export interface BlockCache {
  /** Milliseconds the key stays blocked, 0 if it is not known to be blocked. */
  msLeft: (key: string) => number
  add: (key: string, ms: number) => void
  delete: (key: string) => void
  size: () => number
}

// Ends are kept in ticks of 10 ms from a day before the cache began: a small integer sits inside
// the map's table (for 124 days of uptime), where a millisecond timestamp is a separate heap
// number; during an address flood the cache holds maxEntries of them. Ends round up by < 10 ms.
const TICK_MS = 10

export function createBlockCache (maxEntries: number, now: () => number = Date.now): BlockCache {
  const base = now() - 86_400_000
  const until = new Map<string, number>()
  return {
    msLeft (key) {
      const end = until.get(key)
      if (end === undefined) return 0
      const left = base + end * TICK_MS - now()
      if (left > 0) return left
      until.delete(key)
      return 0
    },
    add (key, ms) {
      until.delete(key) // re-insert at the young end
      until.set(key, Math.ceil((now() + ms - base) / TICK_MS))
      while (until.size > maxEntries) {
        const oldest = until.keys().next().value
        if (oldest === undefined) break
        until.delete(oldest)
      }
    },
    delete: key => { until.delete(key) },
    size: () => until.size
  }
}
