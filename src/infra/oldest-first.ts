// Bounded in-process maps kept oldest first: every write deletes its key and sets it again, so
// the map's insertion order is the order of last writes and the entries to drop sit at the front.

/**
 * Drops entries from the front while the map holds more than maxEntries or the front entry is
 * no longer live at `at` (without isLive, only the cap applies).
 */
export function dropOldest<K, V> (map: Map<K, V>, maxEntries: number, isLive?: (value: V, at: number) => boolean, at = 0): void {
  for (const [key, value] of map) {
    if (map.size <= maxEntries && (isLive === undefined || isLive(value, at))) return
    map.delete(key)
  }
}

/**
 * Walks `map` in insertion order from one call to the next, and starts over after its end
 * (answering undefined once there). One iterator across calls, where a fresh one per call (as
 * in dropOldest) walks every slot V8 keeps for deleted keys until the map is rebuilt: what a
 * map that drops one key per write at the same rate as it adds one should use.
 */
export function walker<K, V> (map: Map<K, V>): () => [K, V] | undefined {
  let cursor = map.entries()
  return () => {
    const next = cursor.next()
    if (next.done !== true) return next.value
    cursor = map.entries()
    return undefined
  }
}
