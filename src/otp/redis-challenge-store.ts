// Challenges in Redis: one hash per challenge, tagged by its own id, expiring with it.
import { type RedisClient } from '../infra/redis.js'
import { defineScript } from '../infra/redis-script.js'
import { seal, unseal } from '../infra/seal.js'
import { guardStore, type StoreHealth } from '../infra/store-guard.js'
import { type Challenge, type ChallengeStore, CHANNELS, type Channel, type SendClaim } from './challenge.js'

const sentField = (channel: Channel) => `l:${channel}`

// ARGV: now, cooldownMs, maxSends, the channel's lastSent field.
const CLAIM_SEND = `
local h = redis.call('HMGET', KEYS[1], 's', ARGV[4], 'x')
local now = tonumber(ARGV[1])
if not h[3] or tonumber(h[3]) <= now then return {'gone'} end
local sends, last, cooldown = tonumber(h[1]), tonumber(h[2] or '0'), tonumber(ARGV[2])
if sends >= tonumber(ARGV[3]) then return {'exhausted'} end
if last > 0 and now - last < cooldown then return {'cooldown', tostring(cooldown - (now - last))} end
redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('HSET', KEYS[1], ARGV[4], ARGV[1])
return {'claimed', h[2] or '0'}`

const RELEASE_SEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 's', -1)
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
return 1`

const COUNT_ATTEMPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('HINCRBY', KEYS[1], 'a', 1)`

// Phone numbers and addresses are kept sealed (AES-GCM under the gateway secret): Redis holds no
// readable personal data, even for the few minutes a challenge lives.
const SEAL = 'otp-destination'

export function createRedisChallengeStore ({ redis, keyPrefix, secret, health, now }: { redis: RedisClient, keyPrefix: string, secret: string, health: StoreHealth, now: () => number }): ChallengeStore {
  const key = (id: string) => `${keyPrefix}otp:{${id}}`
  const claimScript = defineScript(redis, 'lgOtpClaimSend', 1, CLAIM_SEND)
  const releaseScript = defineScript(redis, 'lgOtpReleaseSend', 1, RELEASE_SEND)
  const attemptScript = defineScript(redis, 'lgOtpCountAttempt', 1, COUNT_ATTEMPT)

  return guardStore({
    async create (c) {
      const fields: Record<string, string | number> = { u: c.userId, k: c.userKey, n: c.nonce, c: c.createdAt, x: c.expiresAt, s: c.sends, a: c.attempts }
      for (const [channel, at] of Object.entries(c.lastSentAt)) fields[sentField(channel as Channel)] = at
      if (c.phone !== undefined) fields.p = seal(secret, SEAL, c.phone)
      if (c.email !== undefined) fields.e = seal(secret, SEAL, c.email)
      await redis.multi().hset(key(c.id), fields).pexpire(key(c.id), Math.max(1, c.expiresAt - now())).exec()
    },
    async get (id) {
      const h = await redis.hgetall(key(id))
      if (h.u === undefined || h.k === undefined || h.n === undefined || Number(h.x) <= now()) return null
      const lastSentAt: Challenge['lastSentAt'] = {}
      for (const channel of CHANNELS) if (h[sentField(channel)] !== undefined) lastSentAt[channel] = Number(h[sentField(channel)])
      const challenge: Challenge = {
        id, userId: h.u, userKey: h.k, nonce: h.n, createdAt: Number(h.c), expiresAt: Number(h.x), sends: Number(h.s), lastSentAt, attempts: Number(h.a)
      }
      const phone = h.p === undefined ? undefined : unseal(secret, SEAL, h.p)
      const email = h.e === undefined ? undefined : unseal(secret, SEAL, h.e)
      if (phone !== undefined) challenge.phone = phone
      if (email !== undefined) challenge.email = email
      return challenge
    },
    async claimSend (id, channel, at, cooldownMs, maxSends) {
      const [kind, value] = await claimScript([key(id)], [at, cooldownMs, maxSends, sentField(channel)]) as [string, string?]
      if (kind === 'claimed') return { kind, previousSentAt: Number(value) }
      if (kind === 'cooldown') return { kind, retryAfterMs: Number(value) }
      return { kind: kind === 'exhausted' ? 'exhausted' : 'gone' } satisfies SendClaim
    },
    async releaseSend (id, channel, previousSentAt) {
      await releaseScript([key(id)], [previousSentAt, sentField(channel)])
    },
    async countAttempt (id) {
      const attempts = await attemptScript([key(id)], []) as number | null
      return attempts === null ? null : Number(attempts)
    },
    async consume (id) {
      return await redis.del(key(id)) === 1
    }
  }, health)
}
