// Challenges for requests that rules or limits want to slow down: the offer (a proof-of-work
// puzzle, and a CAPTCHA where one is configured) and the check of an answer in the request's
// `X-Challenge-Response` header: `pow <token>:<solution>` or `captcha <token>`. A solved puzzle
// passes once: its nonce is remembered (Redis SET NX, in the same round trip as the limits).
import { type RedisClient } from '../infra/redis.js'
import { type CaptchaVerifier } from './captcha.js'
import { checkPow, issuePow, type PowChallenge } from './pow.js'

export interface ChallengeOffer extends PowChallenge {
  /** Present when a CAPTCHA is configured: `X-Challenge-Response: captcha <token>` also works. */
  captcha?: { siteKey: string }
}

export interface Solved {
  ok: boolean
  /** The puzzle was offered for a refusal kept in the replica-wide failure share. */
  forGlobal: boolean
}

export interface ChallengeGate {
  /** `forGlobal`: the refusal stays in the replica-wide failure share (its solution takes it back out). */
  offer: (ipKey: string, forGlobal?: boolean) => ChallengeOffer
  /** Whether the request answers a challenge correctly and for the first time. */
  solved: (header: string | undefined, ipKey: string, ip: string) => Promise<Solved>
  close: () => Promise<void>
}

export interface ChallengeGateOptions {
  redis: RedisClient | null
  keyPrefix: string
  secret: string
  difficulty: number
  ttlMs: number
  captcha?: { verifier: CaptchaVerifier, siteKey: string }
  now: () => number
  maxEntries: number
}

export const CHALLENGE_HEADER = 'x-challenge-response'

export function createChallengeGate (o: ChallengeGateOptions): ChallengeGate {
  const used = new Map<string, number>()
  async function firstUse (nonce: string, expiresAt: number): Promise<boolean> {
    const ttl = Math.max(1, expiresAt - o.now())
    if (o.redis !== null) return await o.redis.set(`${o.keyPrefix}pow:${nonce}`, '1', 'PX', ttl, 'NX') === 'OK'
    for (const [n, until] of used) if (until <= o.now()) used.delete(n)
    if (used.has(nonce) || used.size >= o.maxEntries) return false
    used.set(nonce, expiresAt)
    return true
  }
  return {
    // A fresh puzzle per refusal, even for one address: people behind one NAT each need their own,
    // since a solved puzzle passes once (a shared one would let one of them in every few seconds).
    offer (ipKey, forGlobal = false) {
      const pow = issuePow(o.secret, ipKey, o.now(), o.difficulty, o.ttlMs, forGlobal)
      return o.captcha ? { ...pow, captcha: { siteKey: o.captcha.siteKey } } : pow
    },
    async solved (header, ipKey, ip) {
      const no = { ok: false, forGlobal: false }
      if (header === undefined) return no
      const [scheme, answer = ''] = header.trim().split(/\s+/, 2)
      if (scheme === 'pow') {
        const check = checkPow(o.secret, answer, ipKey, o.now())
        if (!check.ok) return no
        return { ok: await firstUse(check.nonce, check.expiresAt).catch(() => false), forGlobal: check.forGlobal }
      }
      if (scheme === 'captcha' && o.captcha && answer.length > 0 && answer.length <= 4096) return { ok: await o.captcha.verifier.verify(answer, ip), forGlobal: false }
      return no
    },
    close: async () => { await o.captcha?.verifier.close() }
  }
}
