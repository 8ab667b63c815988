// POST /auth/login, top to bottom: identify the client → admission (maintenance, re-admission
// ramp, concurrency) → refusals known from the headers alone → validate → normalise → backend available? → bot filter and abuse rules →
// rate limits → session store available? → auth backend (breaker and bulkhead inside) → second
// factor (the backend's, or a rule's step-up) or session → decision log.
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type FastifyReply, type FastifyRequest, type onRequestAsyncHookHandler, type preHandlerAsyncHookHandler } from 'fastify'
import { type Config } from '../config.js'
import { GatewayError } from '../errors.js'
import { type Metrics } from '../infra/metrics.js'
import { type StoreHealth, storeUnavailable } from '../infra/store-guard.js'
import { type Admission } from '../pipeline/admission.js'
import { Type } from '@sinclair/typebox'
import { Authenticated, OtpRequired, problems, tagRoutes } from '../ops/openapi.js'
import { type Attempts } from '../pipeline/attempt.js'
import { invalidRequest } from '../problem-details.js'
import { needsSecondFactor } from '../otp/challenge.js'
import { type OtpService } from '../otp/otp-service.js'
import { setSessionCookie } from '../session/session-cookie.js'
import { type IssuedSession, type SessionStore } from '../session/session-store.js'
import { type AuthBackend, type BackendUser } from './auth-backend.js'
import { LoginBody, loginBodyOf, normaliseUsername } from './login-schema.js'

export interface LoginRouteDeps {
  config: Config
  authBackend: AuthBackend
  sessions: SessionStore
  otp: OtpService
  attempts: Attempts
  addressGate: onRequestAsyncHookHandler
  botFilter: preHandlerAsyncHookHandler
  rateLimit: preHandlerAsyncHookHandler
  storeHealth: StoreHealth
  admission: Admission
  identifyClient: onRequestAsyncHookHandler
  metrics: Metrics
  now: () => number
}

export const loginRoutes: FastifyPluginAsyncTypebox<LoginRouteDeps> = async function loginRoutes (app, deps) {
  const { authBackend, sessions, otp, attempts, metrics } = deps

  async function normaliseLogin (request: FastifyRequest) {
    const body = loginBodyOf(request)
    const username = normaliseUsername(body.username)
    if (!username.ok) throw invalidRequest([username.error])
    body.username = username.value
  }

  // Refuse early what cannot succeed, without calling the backend: while its breaker is open,
  // and while sessions cannot be stored (then a right password is answered like a wrong one).
  async function backendAvailable () {
    authBackend.assertAvailable()
  }

  // Also when this attempt's own counters failed (Redis frozen, yet "ready"): else a wrong
  // password would get its 401 and a right one a 503, which tells them apart.
  async function sessionStoreAvailable (request: FastifyRequest) {
    if (deps.storeHealth.available() && request.attempt?.storeFailed !== true) return
    attempts.abandon(request, 'unanswered')
    throw storeUnavailable()
  }

  // A rule asked for a step-up and there is nobody to send a code to: refused like a block (see
  // judgeSecondFactor), counted like a rule's refusal, and logged with the rule.
  function refuseStepUp (request: FastifyRequest): never {
    const ruleId = request.attempt?.rules.ruleId
    request.log.warn({ rule: ruleId }, 'step-up asked but the backend gave no contact; login refused')
    attempts.abandon(request, 'refused')
    throw new GatewayError('request_blocked', { logFields: { rule: ruleId, reason: 'step_up_without_contact' }, ...(deps.config.RULES_EXPOSE_RULE_ID && ruleId ? { extensions: { ruleId } } : {}) })
  }

  async function countLogin (request: FastifyRequest, reply: FastifyReply) {
    if (reply.problemCode !== null) metrics.logins.inc({ outcome: reply.problemCode })
    attempts.record(request, reply)
  }

  tagRoutes(app, 'login')
  app.post('/auth/login', {
    schema: {
      summary: 'Sign in with a username and password (JSON or form-urlencoded)',
      body: LoginBody,
      response: {
        200: Type.Union([Authenticated, OtpRequired]),
        ...problems('invalid_request', 'invalid_credentials', 'request_blocked', 'challenge_required', 'payload_too_large', 'unsupported_media_type',
          'too_many_attempts', 'auth_unavailable', 'otp_delivery_failed', 'maintenance', 'overloaded', 'session_store_unavailable')
      }
    },
    config: { criticality: 'normal' }, // a brand-new login is shed first under pressure
    // Headers only, before the body is read: denied addresses, maintenance, ramp, free slot,
    // and what is already known to be refused (blocked addresses, rules decided by headers).
    onRequest: [deps.identifyClient, deps.admission.admit('normal'), deps.addressGate],
    // Limits before the store check: while Redis is down they still hold, on their insurance.
    preHandler: [normaliseLogin, backendAvailable, deps.botFilter, deps.rateLimit, sessionStoreAvailable],
    onResponse: [countLogin]
  }, async function login (request, reply) {
    const { username, password } = request.body
    const answer = await authBackend.verify({ username, password }).catch((err: unknown) => {
      attempts.abandon(request, 'unanswered')
      throw err
    })
    // One answer for an unknown user and a wrong password: same code, same body, same path.
    // The failure was already counted by the guard stages: nothing more to do.
    if (answer.kind === 'invalid_credentials') throw new GatewayError('invalid_credentials')

    const secondFactor = judgeSecondFactor(answer.user, request.attempt?.rules.action === 'step-up')
    if (secondFactor.kind === 'unreachable') refuseStepUp(request)
    if (secondFactor.kind === 'otp') {
      // The device is trusted, and the login counted as a success, only once the code is right too.
      const userKey = attempts.userKeyOf(request)
      const [challenge] = await Promise.all([otp.start(secondFactor.user, userKey), attempts.succeeded(request, false)]) // one round trip
      if (request.attempt) request.attempt.outcome = 'otp_required'
      metrics.logins.inc({ outcome: 'otp_required' })
      return { status: 'otp_required' as const, ...challenge }
    }

    // Issued together: both scripts go to Redis as one command (redis-script.ts).
    const [issued, userKey] = await Promise.all([sessions.issue(answer.user.userId), attempts.succeeded(request, true)])
    const deviceToken = attempts.trustDevice(request, reply, userKey)
    if (request.attempt) request.attempt.outcome = 'authenticated'
    metrics.logins.inc({ outcome: 'authenticated' })
    return startSession(reply, issued, deps, deviceToken)
  })
}

export type SecondFactor =
  | { kind: 'none' }
  | { kind: 'otp', user: BackendUser }
  /** A rule asked for a step-up, and the backend gave no contact to send a code to. */
  | { kind: 'unreachable' }

/**
 * Who must prove a second factor, with which destinations: the backend's `mfa`, or, when an
 * abuse rule asks for a step-up, the user's `contacts` (a medium-risk login costs a code, not a
 * lockout). Without any destination a step-up cannot happen, and the login is refused: letting
 * it go on would make the rule a silent no-op, and a proof of work at this point, after the
 * password was found right, would cost only an attacker who already knows it is right.
 */
export function judgeSecondFactor (user: BackendUser, stepUp: boolean): SecondFactor {
  if (needsSecondFactor(user)) return { kind: 'otp', user }
  if (!stepUp) return { kind: 'none' }
  if (user.contacts?.phone === undefined && user.contacts?.email === undefined) return { kind: 'unreachable' }
  return { kind: 'otp', user: { ...user, mfa: user.contacts } }
}

/** Sets the cookie for browsers and returns the body for API clients. */
export function startSession (reply: FastifyReply, issued: IssuedSession, { config, metrics }: { config: Config, metrics: Metrics }, deviceToken?: string) {
  metrics.sessionsIssued.inc()
  metrics.sessionsEvicted.inc(issued.evicted)
  setSessionCookie(reply, issued, config)
  return {
    status: 'authenticated' as const,
    userId: issued.session.userId,
    token: issued.token,
    expiresAt: new Date(issued.session.expiresAt).toISOString(),
    // For API clients without a cookie jar: send it back as X-Device-Token.
    ...(deviceToken === undefined ? {} : { deviceToken })
  }
}
