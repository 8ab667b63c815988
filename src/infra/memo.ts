// A bounded memo for pure functions of one string that cost a keyed hash (HMAC) or a parse per
// call: the same usernames, user ids and addresses come back within minutes. Past maxEntries the oldest
// entry goes first (Map keeps insertion order), so memory stays bounded under any attack.
export function memoize<T> (fn: (input: string) => T, maxEntries: number): (input: string) => T {
  const kept = new Map<string, T>()
  return input => {
    let value = kept.get(input)
    if (value === undefined) {
      value = fn(input)
      kept.set(input, value)
      if (kept.size > maxEntries) kept.delete(kept.keys().next().value as string)
    }
    return value
  }
}
