// Sessions in Redis. Per user: one hash per session and a sorted set indexing them by creation
// time, all under the user's hash tag so each script touches a single Cluster slot.
import { type Redis } from 'ioredis'
import { defineScript } from '../infra/redis-script.js'
import { guardStore } from '../infra/store-guard.js'
import { judgeSession, pickEvictions, retentionMs, type SessionPolicy, type SessionRecord, type SessionView, touchSession } from './session-policy.js'
import { type SessionStore } from './session-store.js'
import { newSessionToken, parseSessionToken, userTag } from './session-token.js'

// Creates the session and indexes it; past the cap, prunes dead index entries and returns the
// live ones (id, createdAt, ...) so the caller picks evictions. Mostly: one round trip, no reply.
const ISSUE = `
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'c', ARGV[2], 'l', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if redis.call('ZCARD', KEYS[2]) <= tonumber(ARGV[5]) then return {} end
local live = {}
local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  if redis.call('EXISTS', ARGV[7] .. entries[i]) == 1 then
    table.insert(live, entries[i]); table.insert(live, entries[i + 1])
  else
    redis.call('ZREM', KEYS[2], entries[i])
  end
end
return live`

// Slides lastSeen forward only if the session still exists (a revoke may have raced the check).
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'l', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`

const REVOKE_ALL = `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local ended = 0
for _, id in ipairs(ids) do ended = ended + redis.call('DEL', ARGV[1] .. id) end
redis.call('DEL', KEYS[1])
return ended`

export interface RedisSessionStoreOptions {
  redis: Redis
  keyPrefix: string
  policy: SessionPolicy
  now: () => number
}

export function createRedisSessionStore ({ redis, keyPrefix, policy, now }: RedisSessionStoreOptions): SessionStore {
  const issueScript = defineScript(redis, 'lgSessionIssue', 2, ISSUE)
  const touchScript = defineScript(redis, 'lgSessionTouch', 1, TOUCH)
  const revokeAllScript = defineScript(redis, 'lgSessionRevokeAll', 1, REVOKE_ALL)
  const slot = (tag: string) => `${keyPrefix}sess:{${tag}}:`
  const indexKey = (tag: string) => `${slot(tag)}idx`

  async function read (tag: string, id: string): Promise<SessionRecord | null> {
    const h = await redis.hgetall(slot(tag) + id)
    if (h.u === undefined) return null
    return { id, userId: h.u, createdAt: Number(h.c), lastSeenAt: Number(h.l) }
  }

  async function remove (tag: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await redis.multi().del(...ids.map(id => slot(tag) + id)).zrem(indexKey(tag), ...ids).exec()
  }

  const store: SessionStore = {
    async issue (userId) {
      const at = now()
      const { token, tag, id } = newSessionToken(userId)
      const record = { id, userId, createdAt: at, lastSeenAt: at }
      const live = await issueScript([slot(tag) + id, indexKey(tag)],
        [userId, at, retentionMs(record, at, policy), policy.absoluteMs, policy.maxPerUser, id, slot(tag)]) as string[]
      const evict = pickEvictions(pairs(live), policy.maxPerUser, id)
      await remove(tag, evict)
      const session = judgeSession(record, at, policy)
      if (session === null) throw new Error('a new session cannot be expired')
      return { token, session, evicted: evict.length }
    },

    async validate (token) {
      const parsed = parseSessionToken(token)
      if (parsed === null) return null
      const record = await read(parsed.tag, parsed.id)
      if (record === null) return null
      const at = now()
      if (judgeSession(record, at, policy) === null) {
        await remove(parsed.tag, [parsed.id])
        return null
      }
      const touched = touchSession(record, at)
      const alive = await touchScript([slot(parsed.tag) + parsed.id], [touched.lastSeenAt, retentionMs(touched, at, policy)])
      return alive === 1 ? judgeSession(touched, at, policy) : null
    },

    async revoke (token) {
      const parsed = parseSessionToken(token)
      if (parsed === null) return false
      const results = await redis.multi().del(slot(parsed.tag) + parsed.id).zrem(indexKey(parsed.tag), parsed.id).exec()
      return results?.[0]?.[1] === 1
    },

    async list (userId) {
      const tag = userTag(userId)
      const ids = await redis.zrange(indexKey(tag), 0, -1)
      const records = await Promise.all(ids.map(id => read(tag, id)))
      const at = now()
      return records
        .filter((r): r is SessionRecord => r !== null && r.userId === userId)
        .map(r => judgeSession(r, at, policy))
        .filter((v): v is SessionView => v !== null)
        .sort((a, b) => a.createdAt - b.createdAt)
    },

    async revokeAll (userId) {
      const tag = userTag(userId)
      return Number(await revokeAllScript([indexKey(tag)], [slot(tag)]))
    }
  }
  return guardStore(store)
}

function pairs (flat: readonly string[]): Array<{ id: string, createdAt: number }> {
  const out = []
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i] as string, createdAt: Number(flat[i + 1]) })
  return out
}
