// A bounded memo for pure functions of one string that cost a keyed hash (HMAC) or a parse per
// call: the same usernames, user ids and addresses come back within minutes. Two generations
// instead of an LRU: when the young one is full it becomes the old one and the oldest go, so a
// miss costs one Map insert, never an eviction walk, and memory stays bounded under any attack.
/**
 * memoize for a keyed function of (secret, input): one memo per secret (a process has one; tests
 * make several).
 */
export function memoizePerSecret (fn: (secret: string, input: string) => string, maxEntries: number): (secret: string, input: string) => string {
  const memos = new Map<string, (input: string) => string>()
  return (secret, input) => {
    let memo = memos.get(secret)
    if (memo === undefined) memos.set(secret, memo = memoize(value => fn(secret, value), maxEntries))
    return memo(input)
  }
}

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
