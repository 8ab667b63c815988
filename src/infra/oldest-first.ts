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
