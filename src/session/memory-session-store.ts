// Sessions in process memory, for demo mode: same contract and same policy functions as the
// Redis store, lost on restart and not shared between replicas.
import { judgeSession, pickEvictions, type SessionPolicy, type SessionRecord, type SessionView, touchSession } from './session-policy.js'
import { type SessionStore } from './session-store.js'
import { newSessionToken, parseSessionToken } from './session-token.js'

const SWEEP_EVERY = 1000

export function createMemorySessionStore ({ secret, policy, now }: { secret: string, policy: SessionPolicy, now: () => number }): SessionStore {
  const sessions = new Map<string, SessionRecord>()
  const byUser = new Map<string, Set<string>>()

  function remove (id: string): boolean {
    const record = sessions.get(id)
    if (record === undefined) return false
    sessions.delete(id)
    byUser.get(record.userId)?.delete(id)
    return true
  }

  /** The user's live sessions; expired ones are dropped on the way. */
  function live (userId: string, at: number): SessionView[] {
    const views: SessionView[] = []
    for (const id of byUser.get(userId) ?? []) {
      const record = sessions.get(id)
      const view = record && judgeSession(record, at, policy)
      if (view) views.push(view)
      else remove(id)
    }
    return views.sort((a, b) => a.createdAt - b.createdAt)
  }

  let issued = 0
  function sweep (at: number): void {
    for (const record of sessions.values()) if (judgeSession(record, at, policy) === null) remove(record.id)
  }

  return {
    async issue (userId) {
      const at = now()
      // Bounded memory: users who never come back would otherwise keep their sessions forever.
      if (++issued % SWEEP_EVERY === 0) sweep(at)
      const { token, id } = newSessionToken(secret, userId)
      const record = { id, userId, createdAt: at, lastSeenAt: at }
      sessions.set(id, record)
      let ids = byUser.get(userId)
      if (ids === undefined) byUser.set(userId, ids = new Set())
      ids.add(id)
      const evict = pickEvictions(live(userId, at), policy.maxPerUser, id)
      for (const old of evict) remove(old)
      return { token, session: judgeSession(record, at, policy) as SessionView, evicted: evict.length }
    },
    async validate (token) {
      const parsed = parseSessionToken(token)
      const record = parsed && sessions.get(parsed.id)
      if (!parsed || !record) return null
      const at = now()
      if (judgeSession(record, at, policy) === null) {
        remove(parsed.id)
        return null
      }
      const touched = touchSession(record, at)
      sessions.set(parsed.id, touched)
      return judgeSession(touched, at, policy)
    },
    async revoke (token) {
      const parsed = parseSessionToken(token)
      return parsed !== null && remove(parsed.id)
    },
    async list (userId) {
      return live(userId, now())
    },
    async revokeAll (userId, createdBefore = Infinity) {
      const ended = live(userId, now()).filter(s => s.createdAt <= createdBefore)
      for (const s of ended) remove(s.id)
      return ended.length
    }
  }
}
