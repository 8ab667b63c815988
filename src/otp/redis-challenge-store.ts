import { type Redis } from 'ioredis'
import { guardStore, type StoreHealth } from '../infra/store-guard.js'
import { type Challenge, type ChallengeStore } from './challenge.js'

export function createRedisChallengeStore ({ redis, keyPrefix, health, now }: { redis: Redis, keyPrefix: string, health: StoreHealth, now: () => number }): ChallengeStore {
  const key = (id: string) => `${keyPrefix}otp:{${id}}`
  return guardStore({
    async create (c) {
      const fields: Record<string, string | number> = { u: c.userId, c: c.createdAt, x: c.expiresAt }
      if (c.phone !== undefined) fields.p = c.phone
      if (c.email !== undefined) fields.e = c.email
      await redis.multi().hset(key(c.id), fields).pexpire(key(c.id), Math.max(1, c.expiresAt - now())).exec()
    },
    async get (id) {
      const h = await redis.hgetall(key(id))
      if (h.u === undefined || Number(h.x) <= now()) return null
      const challenge: Challenge = { id, userId: h.u, createdAt: Number(h.c), expiresAt: Number(h.x) }
      if (h.p !== undefined) challenge.phone = h.p
      if (h.e !== undefined) challenge.email = h.e
      return challenge
    },
    async delete (id) {
      await redis.del(key(id))
    }
  }, health)
}
