// One login attempt as the guard stages see it (bot filter, then rate limits), and its
// settlement once the backend has answered: counters refunded or reset, the device trusted, and
// one line in the decision log with the eventual outcome.
import { type FastifyReply, type FastifyRequest } from 'fastify'
import { type Velocity, type VelocitySubject } from '../bots/velocity.js'
import { DEVICE_COOKIE, signDeviceCookie } from '../limits/device-cookie.js'
import { type LimitGuard, type Observed } from '../limits/limit-guard.js'
import { type LimitKey, type LimitSubject } from '../limits/limit-policy.js'
import { maskUsername } from '../login/mask.js'
import { loginBodyOf } from '../login/login-schema.js'
import { type DecisionLog } from '../rules/decision-log.js'
import { type RequestFeatures, type RulesVerdict } from '../rules/features.js'

export interface AttemptState {
  subject: LimitSubject
  velocitySubject: VelocitySubject
  features: RequestFeatures
  /** The limit counters' increments, started by the bot filter, judged by the rate-limit stage. */
  observed?: Promise<Observed>
  keys: LimitKey[]
  rules: RulesVerdict
  challengeSolved: boolean
  /** The limit that refused the attempt, if one did. */
  limit?: string
  /** authenticated or otp_required once the backend said yes. */
  outcome?: string
}

export const NO_RULES: RulesVerdict = { action: 'none', enforced: [], shadowed: [], budgets: {}, tags: [] }

export interface Attempts {
  /** The password was right: settle the counters; returns the username's limit key. */
  succeeded: (request: FastifyRequest) => Promise<string | undefined>
  /**
   * The attempt ends without a verdict on the password: no failure for the limits. `refused`:
   * a rule turned it away, so the velocity signals still count it as a failed attempt (else an
   * attacker's refused attempts would dilute the failure ratio that gives them away).
   */
  abandon: (request: FastifyRequest, how: 'refused' | 'unanswered') => void
  /** After a complete login: the signed device cookie, unless the request already had one. */
  trustDevice: (request: FastifyRequest, reply: FastifyReply, userKey: string) => void
  /** onResponse: the decision log line. */
  record: (request: FastifyRequest, reply: FastifyReply) => void
}

export interface AttemptOptions {
  guard: LimitGuard
  velocity: Velocity
  decisions: DecisionLog
  userKeyOf: (username: string) => string
  secret: string
  device: { maxAgeS: number, secure: boolean }
  now: () => number
}

export function createAttempts (o: AttemptOptions): Attempts {
  return {
    async succeeded (request) {
      const state = request.attempt
      if (state === null) return o.userKeyOf(loginBodyOf(request).username) // allow-listed: nothing was counted
      await Promise.all([o.guard.succeeded(state.subject, state.keys, request.log), o.velocity.notFailure(state.velocitySubject)])
      return state.subject.userKey
    },

    abandon (request, how) {
      const state = request.attempt
      if (state === null) return
      const keys = state.observed ?? Promise.resolve({ keys: state.keys, observations: [] })
      keys.then(observed => { o.guard.undo(observed.keys, request.log) }, () => undefined)
      if (how === 'unanswered') o.velocity.notFailure(state.velocitySubject).catch(() => undefined)
    },

    trustDevice (request, reply, userKey) {
      if (request.attempt?.features.trustedDevice === true) return
      reply.setCookie(DEVICE_COOKIE, signDeviceCookie(o.secret, userKey, o.now()), {
        path: '/auth', httpOnly: true, sameSite: 'lax', secure: o.device.secure, maxAge: o.device.maxAgeS
      })
    },

    record (request, reply) {
      const state = request.attempt
      if (state === null) return
      o.decisions.record({
        requestId: request.id,
        time: new Date(o.now()).toISOString(),
        user: maskUsername(loginBodyOf(request).username),
        features: state.features,
        verdict: state.rules,
        ...(state.limit ? { limit: state.limit } : {}),
        challengeSolved: state.challengeSolved,
        outcome: reply.problemCode ?? state.outcome ?? `status_${reply.statusCode}`
      })
    }
  }
}
