// Sessions in Redis. Per user: one hash per session and a sorted set indexing them by creation
// time, all under the user's hash tag so each script touches a single Cluster slot. Issuing
// (with eviction) and checking (with the sliding touch) are one script call each.
import { type RedisClient } from '../infra/redis.js'
import { defineScript } from '../infra/redis-script.js'
import { guardStore, type StoreHealth } from '../infra/store-guard.js'
import { judgeSession, retentionMs, type SessionPolicy, type SessionRecord, type SessionView, touchSession } from './session-policy.js'
import { type SessionStore } from './session-store.js'
import { newSessionToken, parseSessionToken, userTag } from './session-token.js'

// Creates and indexes the session; past the cap, mirrors pickEvictions: index entries whose
// session is gone go first, then the oldest live sessions, never the new one. Returns evictions.
const ISSUE = `
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'c', ARGV[2], 'l', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if excess <= 0 then return 0 end
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, id in ipairs(ids) do
  if excess > 0 and redis.call('EXISTS', ARGV[7] .. id) == 0 then
    redis.call('ZREM', KEYS[2], id)
    excess = excess - 1
  end
end
local evicted = 0
for _, id in ipairs(ids) do
  if excess > 0 and id ~= ARGV[6] and redis.call('DEL', ARGV[7] .. id) == 1 then
    redis.call('ZREM', KEYS[2], id)
    excess = excess - 1
    evicted = evicted + 1
  end
end
return evicted`

// Mirrors judgeSession and touchSession: an expired session is deleted, a live one slides.
// Returns the record as it was before this use, or nil.
const CHECK = `
local h = redis.call('HMGET', KEYS[1], 'u', 'c', 'l')
if not h[1] then return nil end
local now, idle, absolute = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local created, seen = tonumber(h[2]), tonumber(h[3])
if now >= created + absolute or now >= seen + idle then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[4])
  return nil
end
if now > seen then
  redis.call('HSET', KEYS[1], 'l', ARGV[1])
  seen = now
end
redis.call('PEXPIRE', KEYS[1], math.min(seen + idle, created + absolute) - now)
return h`

// The index scores are creation times, so sessions created since ARGV[2] are spared.
const REVOKE_ALL = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local ended = 0
for _, id in ipairs(ids) do
  ended = ended + redis.call('DEL', ARGV[1] .. id)
  redis.call('ZREM', KEYS[1], id)
end
return ended`

export interface RedisSessionStoreOptions {
  redis: RedisClient
  keyPrefix: string
  secret: string
  policy: SessionPolicy
  health: StoreHealth
  now: () => number
}

export function createRedisSessionStore ({ redis, keyPrefix, secret, policy, health, now }: RedisSessionStoreOptions): SessionStore {
  const issueScript = defineScript(redis, 'lgSessionIssue', 2, ISSUE)
  const checkScript = defineScript(redis, 'lgSessionCheck', 2, CHECK)
  const revokeAllScript = defineScript(redis, 'lgSessionRevokeAll', 1, REVOKE_ALL)
  const slot = (tag: string) => `${keyPrefix}sess:{${tag}}:`
  const indexKey = (tag: string) => `${slot(tag)}idx`

  const toRecord = (id: string, h: Array<string | null>): SessionRecord | null =>
    h[0] == null ? null : { id, userId: h[0], createdAt: Number(h[1]), lastSeenAt: Number(h[2]) }

  return guardStore({
    async issue (userId) {
      const at = now()
      const { token, tag, id } = newSessionToken(secret, userId)
      const record = { id, userId, createdAt: at, lastSeenAt: at }
      const evicted = await issueScript([slot(tag) + id, indexKey(tag)],
        [userId, at, retentionMs(record, at, policy), policy.absoluteMs, policy.maxPerUser, id, slot(tag)])
      const session = judgeSession(record, at, policy)
      if (session === null) throw new Error('a new session cannot be expired')
      return { token, session, evicted: Number(evicted) }
    },

    async validate (token) {
      const parsed = parseSessionToken(token)
      if (parsed === null) return null
      const at = now()
      const before = await checkScript([slot(parsed.tag) + parsed.id, indexKey(parsed.tag)],
        [at, policy.idleMs, policy.absoluteMs, parsed.id]) as Array<string | null> | null
      const record = before && toRecord(parsed.id, before)
      return record && judgeSession(touchSession(record, at), at, policy)
    },

    async revoke (token) {
      const parsed = parseSessionToken(token)
      if (parsed === null) return false
      const results = await redis.multi().del(slot(parsed.tag) + parsed.id).zrem(indexKey(parsed.tag), parsed.id).exec()
      return results?.[0]?.[1] === 1
    },

    async list (userId) {
      const tag = userTag(secret, userId)
      const ids = await redis.zrange(indexKey(tag), 0, -1)
      const records = await Promise.all(ids.map(async id => toRecord(id, await redis.hmget(slot(tag) + id, 'u', 'c', 'l'))))
      const at = now()
      return records
        .filter((r): r is SessionRecord => r !== null && r.userId === userId)
        .map(r => judgeSession(r, at, policy))
        .filter((v): v is SessionView => v !== null)
        .sort((a, b) => a.createdAt - b.createdAt)
    },

    async revokeAll (userId, createdBefore) {
      const tag = userTag(secret, userId)
      return Number(await revokeAllScript([indexKey(tag)], [slot(tag), createdBefore ?? '+inf']))
    }
  }, health)
}
