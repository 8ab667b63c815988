import { type Challenge, type ChallengeStore } from './challenge.js'

export function createMemoryChallengeStore ({ now }: { now: () => number }): ChallengeStore {
  const challenges = new Map<string, Challenge>()
  return {
    async create (c) {
      // Challenges live minutes: drop the expired ones whenever a new one arrives.
      for (const [id, old] of challenges) if (old.expiresAt <= now()) challenges.delete(id)
      challenges.set(c.id, c)
    },
    async get (id) {
      const c = challenges.get(id)
      return c !== undefined && c.expiresAt > now() ? c : null
    },
    async delete (id) {
      challenges.delete(id)
    }
  }
}
