// Challenges in process memory (demo mode): the same contract as the Redis store.
import { type Challenge, type ChallengeStore } from './challenge.js'

export function createMemoryChallengeStore ({ now }: { now: () => number }): ChallengeStore {
  const challenges = new Map<string, Challenge>()
  const live = (id: string) => {
    const c = challenges.get(id)
    if (c !== undefined && c.expiresAt > now()) return c
    challenges.delete(id)
    return undefined
  }
  return {
    async create (c) {
      // Challenges live minutes: drop the expired ones whenever a new one arrives.
      for (const [id, old] of challenges) if (old.expiresAt <= now()) challenges.delete(id)
      challenges.set(c.id, { ...c })
    },
    async get (id) {
      const c = live(id)
      return c === undefined ? null : { ...c, lastSentAt: { ...c.lastSentAt } }
    },
    async claimSend (id, channel, at, cooldownMs, maxSends) {
      const c = live(id)
      if (c === undefined) return { kind: 'gone' }
      if (c.sends >= maxSends) return { kind: 'exhausted' }
      const last = c.lastSentAt[channel] ?? 0
      if (last > 0 && at - last < cooldownMs) return { kind: 'cooldown', retryAfterMs: cooldownMs - (at - last) }
      c.sends++
      c.lastSentAt = { ...c.lastSentAt, [channel]: at }
      return { kind: 'claimed', previousSentAt: last }
    },
    async releaseSend (id, channel, previousSentAt) {
      const c = live(id)
      if (c === undefined) return
      c.sends--
      c.lastSentAt = { ...c.lastSentAt, [channel]: previousSentAt }
    },
    async countAttempt (id) {
      const c = live(id)
      return c === undefined ? null : ++c.attempts
    },
    async consume (id) {
      return live(id) !== undefined && challenges.delete(id)
    }
  }
}
