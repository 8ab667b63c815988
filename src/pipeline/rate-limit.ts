// Stage: rate limits and brute-force protection for POST /auth/login. Judges the counters the
// bot filter started (with budgets tightened by abuse rules) and answers 429 with Retry-After
// and the IETF RateLimit fields; a limit that challenges (username-wide failures) answers
// challenge_required instead, and lets a solved challenge through.
import { type FastifyReply, type FastifyRequest } from 'fastify'
import { type ChallengeGate } from '../challenge/challenge-gate.js'
import { GatewayError } from '../errors.js'
import { type LimitGuard, type Rejection } from '../limits/limit-guard.js'
import { type Limits } from '../limits/limit-policy.js'

export interface RateLimitOptions {
  guard: LimitGuard
  /** A limit answered the attempt: out of the replica-wide failure window. */
  onRefused: () => void
  gate: ChallengeGate
  limits: Limits
}

/** The answer for an attempt a limit refused. */
export function limitRefusal (r: Rejection, gate: ChallengeGate, ipKey: string, logFields: Record<string, unknown>, limits?: Limits): GatewayError {
  const retryAfterSeconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000))
  const windowS = limits?.[r.limit.name].windowS
  const headers = {
    'ratelimit-policy': `"${r.limit.name}";q=${r.budget}${windowS === undefined ? '' : `;w=${windowS}`}`,
    ratelimit: `"${r.limit.name}";r=0;t=${retryAfterSeconds}`
  }
  const fields = { limit: r.limit.name, cached: r.cached, ...logFields }
  if (r.challenge) {
    return new GatewayError('challenge_required', { status: 429, retryAfterSeconds, headers, extensions: { challenge: gate.offer(ipKey) }, logFields: fields })
  }
  return new GatewayError('too_many_attempts', { retryAfterSeconds, headers, logFields: fields })
}

export function createRateLimit (o: RateLimitOptions) {
  return async function rateLimit (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const state = request.attempt
    if (state?.observed === undefined) return
    const observed = await state.observed
    state.keys = observed.keys
    const result = await o.guard.judge(state.subject, observed, request.log, { overrides: state.rules.budgets, challengeSolved: state.challengeSolved })
    if (result.kind === 'reject') {
      o.onRefused()
      state.limit = result.limit.name // the velocity signals keep it as a failed attempt
      throw limitRefusal(result, o.gate, state.features.ipKey, { trustedDevice: state.features.trustedDevice }, o.limits)
    }
    if (result.quota) {
      const q = result.quota
      reply.header('ratelimit-policy', `"${q.name}";q=${q.budget};w=${q.windowS}`)
      reply.header('ratelimit', `"${q.name}";r=${q.remaining};t=${q.resetS}`)
    }
  }
}
