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

export function createBlockCache (maxEntries: number, now: () => number = Date.now): BlockCache {
  const until = new Map<string, number>()
  return {
    msLeft (key) {
      const end = until.get(key)
      if (end === undefined) return 0
      const left = end - now()
      if (left > 0) return left
      until.delete(key)
      return 0
    },
    add (key, ms) {
      until.delete(key) // re-insert at the young end
      until.set(key, now() + ms)
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
