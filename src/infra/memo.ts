// A bounded memo for pure functions of one string that cost a keyed hash (HMAC) or a parse per
// call: the same usernames, user ids and addresses come back within minutes. Two generations
// instead of an LRU: when the young one is full it becomes the old one and the oldest go, so a
// miss costs one Map insert, never an eviction walk, and memory stays bounded under any attack.
export function memoize<T> (fn: (input: string) => T, maxEntries: number): (input: string) => T {
  const half = Math.max(1, Math.floor(maxEntries / 2))
  let young = new Map<string, T>()
  let old = new Map<string, T>()
  return input => {
    let value = young.get(input)
    if (value !== undefined) return value
    value = old.get(input) ?? fn(input)
    if (young.size >= half) {
      old = young
      young = new Map()
    }
    young.set(input, value)
    return value
  }
}
