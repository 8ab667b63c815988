// A session check while Redis is out: served from a short-lived in-process copy of the sessions
// this replica validated recently (SESSION_GRACE_S), so signed-in users stay signed in through
// a Redis outage. New logins still get 503. A logout during the outage drops the local copy at
// once and is replayed against Redis when it answers again.
import { GatewayError } from '../errors.js'
import { type RequestLog } from '../infra/logger.js'
import { type Metrics } from '../infra/metrics.js'
import { judgeSession, type SessionPolicy, type SessionView, touchSession } from './session-policy.js'
import { type SessionStore } from './session-store.js'
import { parseSessionToken } from './session-token.js'

export interface GraceOptions {
  graceMs: number
  maxEntries: number
  policy: SessionPolicy
  metrics: Metrics
  now: () => number
  log: RequestLog
}

const MAX_PENDING_REVOCATIONS = 10_000

const isStoreDown = (err: unknown) => err instanceof GatewayError && err.code === 'session_store_unavailable'

export function withSessionGrace (store: SessionStore, o: GraceOptions): SessionStore {
  if (o.graceMs <= 0) return store
  const seen = new Map<string, { view: SessionView, at: number }>()
  const pending = new Set<string>()

  function remember (id: string, view: SessionView): void {
    seen.delete(id)
    seen.set(id, { view, at: o.now() })
    if (seen.size > o.maxEntries) seen.delete(seen.keys().next().value as string)
  }

  function replayRevocations (): void {
    for (const token of pending) {
      pending.delete(token)
      store.revoke(token).catch(() => pending.add(token))
    }
  }

  return {
    ...store,
    async issue (userId) {
      const issued = await store.issue(userId)
      remember(issued.session.id, issued.session)
      if (pending.size > 0) replayRevocations()
      return issued
    },
    async validate (token) {
      const id = parseSessionToken(token)?.id
      try {
        const view = await store.validate(token)
        if (id !== undefined) {
          if (view === null) seen.delete(id)
          else remember(id, view)
        }
        if (pending.size > 0) replayRevocations()
        return view
      } catch (err) {
        const copy = id === undefined ? undefined : seen.get(id)
        const at = o.now()
        if (!isStoreDown(err) || copy === undefined || at - copy.at > o.graceMs) throw err
        const view = judgeSession(touchSession(copy.view, at), at, o.policy)
        if (view === null) throw err
        o.metrics.sessionGraceHits.inc()
        o.log.warn('session served from the in-process copy while the session store is down')
        return view
      }
    },
    async revoke (token) {
      const id = parseSessionToken(token)?.id
      if (id !== undefined) seen.delete(id)
      try {
        return await store.revoke(token)
      } catch (err) {
        if (isStoreDown(err) && pending.size < MAX_PENDING_REVOCATIONS) pending.add(token)
        throw err
      }
    },
    async revokeAll (userId) {
      for (const [id, entry] of seen) if (entry.view.userId === userId) seen.delete(id)
      return await store.revokeAll(userId)
    }
  }
}
