// A session check while Redis is out: served from a short-lived in-process copy of the sessions
// this replica validated recently (SESSION_GRACE_S), so signed-in users stay signed in through
// a Redis outage. New logins still get 503. A logout (one session or all of a user's) during the
// outage is refused here at once and for good, and replayed against Redis as soon as it answers:
// with the next check (before that check is answered), the next login, or a timer.
import { GatewayError } from '../errors.js'
import { type RequestLog } from '../infra/logger.js'
import { addStateGauge, type Metrics } from '../infra/metrics.js'
import { dropOldest } from '../infra/oldest-first.js'
import { smallTicks } from '../infra/small-ticks.js'
import { judgeSession, type SessionPolicy, type SessionRecord, type SessionView, touchSession } from './session-policy.js'
import { type SessionStore } from './session-store.js'
import { parseSessionToken } from './session-token.js'

export interface GraceOptions {
  graceMs: number
  maxEntries: number
  policy: SessionPolicy
  metrics: Metrics
  now: () => number
  log: RequestLog
  /** How often queued revocations are retried while any wait (default 1000). */
  replayEveryMs?: number
}

export interface GracefulSessionStore extends SessionStore {
  /** Stops the replay timer. */
  close: () => void
}

type Revocation =
  | { kind: 'session', token: string }
  | { kind: 'user', userId: string, createdBefore: number }

interface Tombstone {
  revocation: Revocation
  /** When Redis took the revocation; null while it waits. */
  replayedAt: number | null
}

const MAX_TOMBSTONES = 10_000
// A check sent before the replay may answer after it; the tombstone outlives the replay by far more.
const KEEP_REPLAYED_MS = 60_000

const isStoreDown = (err: unknown) => err instanceof GatewayError && err.code === 'session_store_unavailable'

interface Copy {
  userId: string
  /** Ticks of COPY_TICK_MS (see smallTicks). */
  created: number
  lastSeen: number
}

const COPY_TICK_MS = 10

export function withSessionGrace (store: SessionStore, o: GraceOptions): GracefulSessionStore {
  // The copies: the user and two times only (whole views took 0.5 KB each, and at a thousand
  // logins a second the map holds SESSION_GRACE_MAX_ENTRIES of them), the times in 10 ms ticks
  // (small integers, where a millisecond timestamp is a heap number of its own), rounded down: a
  // copy may end up to 10 ms early, never late. lastSeen says when a replica last saw it live:
  // this one, on the same clock, when it remembered it. Oldest first (each remember moves its
  // session to the end), so expired copies leave from the front.
  const seen = new Map<string, Copy>()
  const ticks = smallTicks(o.now, COPY_TICK_MS)
  const isLive = (copy: Copy, at: number) => at - ticks.start(copy.lastSeen) <= o.graceMs
  const recordOf = (id: string, copy: Copy): SessionRecord =>
    ({ id, userId: copy.userId, createdAt: ticks.start(copy.created), lastSeenAt: ticks.start(copy.lastSeen) })
  // Keys `s:<session id>` and `u:<user id>`; `pending` holds the keys Redis has not taken yet.
  const tombstones = new Map<string, Tombstone>()
  const pending = new Set<string>()
  let replaying: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  addStateGauge(o.metrics, 'lg_session_grace_copies', 'Sessions this replica keeps in process to validate through a Redis outage (SESSION_GRACE_S)', () => seen.size)

  function remember (id: string, view: SessionView): void {
    if (o.graceMs <= 0) return
    const at = o.now()
    seen.delete(id)
    seen.set(id, { userId: view.userId, created: ticks.floor(view.createdAt), lastSeen: ticks.floor(view.lastSeenAt) })
    // Past the grace period a copy is never served: dropped now, not when the map is full.
    dropOldest(seen, o.maxEntries, isLive, at)
  }

  /** Revoked on this replica: by its id, or by a revocation of all its user's older sessions. */
  function revokedHere (id: string | undefined, view?: Pick<SessionRecord, 'userId' | 'createdAt'>): boolean {
    if (id !== undefined && tombstones.has(`s:${id}`)) return true
    const user = view && tombstones.get(`u:${view.userId}`)?.revocation
    return user?.kind === 'user' && view !== undefined && view.createdAt <= user.createdBefore
  }

  function syncTimer (): void {
    if (pending.size > 0 && timer === undefined) timer = setInterval(replay, o.replayEveryMs ?? 1000)
    if (pending.size === 0 && timer !== undefined) { clearInterval(timer); timer = undefined }
  }

  function prune (at: number): void {
    for (const [key, t] of tombstones) if (t.replayedAt !== null && at - t.replayedAt > KEEP_REPLAYED_MS) tombstones.delete(key)
  }

  function queue (key: string, revocation: Revocation): void {
    prune(o.now())
    if (tombstones.size >= MAX_TOMBSTONES && !tombstones.has(key)) {
      o.log.error('too many revocations waiting for the session store; this one is not queued')
      return
    }
    tombstones.set(key, { revocation, replayedAt: null })
    pending.add(key)
    syncTimer()
  }

  async function replayOne (key: string): Promise<void> {
    const t = tombstones.get(key)
    if (t === undefined) { pending.delete(key); return }
    const r = t.revocation
    if (r.kind === 'session') await store.revoke(r.token)
    else await store.revokeAll(r.userId, r.createdBefore)
    if (tombstones.get(key) !== t) return // queued again meanwhile: that one still waits
    pending.delete(key)
    t.replayedAt = o.now()
  }

  /** Sends every waiting revocation to Redis (one replay at a time); those that fail keep waiting. Never rejects. */
  function replay (): Promise<void> {
    replaying ??= Promise.allSettled([...pending].map(replayOne)).then(results => {
      const done = results.filter(r => r.status === 'fulfilled').length
      if (done > 0) o.log.info({ replayed: done, waiting: pending.size }, 'revocations made during the outage replayed')
    }).finally(() => {
      replaying = undefined
      prune(o.now())
      syncTimer()
    })
    return replaying
  }

  return {
    ...store,
    async issue (userId) {
      const issued = await store.issue(userId)
      remember(issued.session.id, issued.session)
      if (pending.size > 0) replay() // not awaited: the login does not wait for it
      return issued
    },
    async validate (token) {
      const id = parseSessionToken(token)?.id
      if (revokedHere(id)) return null
      try {
        // Redis is back if this answers: its waiting revocations reach it before this answer does.
        const [view] = await Promise.all([store.validate(token), pending.size > 0 ? replay() : undefined])
        if (id === undefined) return view
        if (view === null || revokedHere(id, view)) {
          seen.delete(id)
          return null
        }
        remember(id, view)
        return view
      } catch (err) {
        const copy = id === undefined ? undefined : seen.get(id)
        const at = o.now()
        if (!isStoreDown(err) || id === undefined || copy === undefined || !isLive(copy, at)) throw err
        const record = recordOf(id, copy)
        if (revokedHere(id, record)) throw err
        const view = judgeSession(touchSession(record, at), at, o.policy)
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
        if (isStoreDown(err) && id !== undefined) queue(`s:${id}`, { kind: 'session', token })
        throw err
      }
    },
    async revokeAll (userId, createdBefore) {
      for (const [id, copy] of seen) if (copy.userId === userId) seen.delete(id)
      try {
        return await store.revokeAll(userId, createdBefore)
      } catch (err) {
        // Replayed later, it must spare the sessions the user opened since (on another replica).
        if (isStoreDown(err)) queue(`u:${userId}`, { kind: 'user', userId, createdBefore: createdBefore ?? o.now() })
        throw err
      }
    },
    close () {
      clearInterval(timer)
      timer = undefined
    }
  }
}
