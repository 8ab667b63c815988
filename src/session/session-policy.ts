// Session lifetime rules, as pure functions shared by every session store.

export interface SessionPolicy {
  /** Sliding: a session unused for this long ends. */
  idleMs: number
  /** Hard cap from creation, however active the session is. */
  absoluteMs: number
  maxPerUser: number
}

export interface SessionRecord {
  /** The token's hash; the token itself is never stored. */
  id: string
  userId: string
  createdAt: number
  lastSeenAt: number
}

export interface SessionView extends SessionRecord {
  /** When the session ends if it is not used again. */
  expiresAt: number
  absoluteExpiresAt: number
}

/** The session as seen at `now`, or null once it has expired (idle or absolute). */
export function judgeSession (record: SessionRecord, now: number, policy: SessionPolicy): SessionView | null {
  const absoluteExpiresAt = record.createdAt + policy.absoluteMs
  const idleExpiresAt = record.lastSeenAt + policy.idleMs
  if (now >= absoluteExpiresAt || now >= idleExpiresAt) return null
  // Written out, not spread: one fixed shape for every view (a spread plus two more fields gave
  // each view its own out-of-object property array, and the session-grace copies a hidden class each).
  return {
    id: record.id,
    userId: record.userId,
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    expiresAt: Math.min(idleExpiresAt, absoluteExpiresAt),
    absoluteExpiresAt
  }
}

/** The record after a use at `now` (the idle timeout slides; the absolute one never moves). */
export function touchSession (record: SessionRecord, now: number): SessionRecord {
  return { id: record.id, userId: record.userId, createdAt: record.createdAt, lastSeenAt: Math.max(record.lastSeenAt, now) }
}

/** How long a store must keep the record after a use at `now`. */
export function retentionMs (record: SessionRecord, now: number, policy: SessionPolicy): number {
  return Math.max(1, Math.min(record.lastSeenAt + policy.idleMs, record.createdAt + policy.absoluteMs) - now)
}

/** Which of a user's live sessions to end so at most `maxPerUser` remain: the oldest, never `keepId`. */
export function pickEvictions (live: ReadonlyArray<Pick<SessionRecord, 'id' | 'createdAt'>>, maxPerUser: number, keepId: string): string[] {
  const excess = live.length - maxPerUser
  if (excess <= 0) return []
  return [...live]
    .filter(s => s.id !== keepId)
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)) // Redis sorted-set order
    .slice(0, excess)
    .map(s => s.id)
}
