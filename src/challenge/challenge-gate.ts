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

export interface ChallengeGate {
  offer: (ipKey: string) => ChallengeOffer
  /** True when the request answers a challenge correctly and for the first time. */
  solved: (header: string | undefined, ipKey: string, ip: string) => Promise<boolean>
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

// An address refused again within this gets the puzzle it was just given: signing a fresh one
// for every refused request of a flood cost more than the refusal. Its solution still passes once.
const REOFFER_MS = 5000
// Enough for every address refused within those seconds at attack rates; an offer is ~0.5 KiB.
const REOFFER_MAX_ENTRIES = 10_000

export function createChallengeGate (o: ChallengeGateOptions): ChallengeGate {
  const used = new Map<string, number>()
  const offered = new Map<string, { at: number, offer: ChallengeOffer }>()
  async function firstUse (nonce: string, expiresAt: number): Promise<boolean> {
    const ttl = Math.max(1, expiresAt - o.now())
    if (o.redis !== null) return await o.redis.set(`${o.keyPrefix}pow:${nonce}`, '1', 'PX', ttl, 'NX') === 'OK'
    for (const [n, until] of used) if (until <= o.now()) used.delete(n)
    if (used.has(nonce) || used.size >= o.maxEntries) return false
    used.set(nonce, expiresAt)
    return true
  }
  return {
    offer (ipKey) {
      const at = o.now()
      const recent = offered.get(ipKey)
      if (recent !== undefined && at - recent.at < Math.min(REOFFER_MS, o.ttlMs / 2)) return recent.offer
      const pow = issuePow(o.secret, ipKey, at, o.difficulty, o.ttlMs)
      const offer = o.captcha ? { ...pow, captcha: { siteKey: o.captcha.siteKey } } : pow
      offered.delete(ipKey) // re-insert at the young end; the oldest go first past maxEntries
      offered.set(ipKey, { at, offer })
      if (offered.size > Math.min(o.maxEntries, REOFFER_MAX_ENTRIES)) offered.delete(offered.keys().next().value as string)
      return offer
    },
    async solved (header, ipKey, ip) {
      if (header === undefined) return false
      const [scheme, answer = ''] = header.trim().split(/\s+/, 2)
      if (scheme === 'pow') {
        const check = checkPow(o.secret, answer, ipKey, o.now())
        return check.ok && await firstUse(check.nonce, check.expiresAt).catch(() => false)
      }
      if (scheme === 'captcha' && o.captcha && answer.length > 0 && answer.length <= 4096) return await o.captcha.verifier.verify(answer, ip)
      return false
    },
    close: async () => { await o.captcha?.verifier.close() }
  }
}
