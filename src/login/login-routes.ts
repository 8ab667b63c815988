// POST /auth/login, top to bottom: identify the client → admission (maintenance, re-admission
// ramp, concurrency) → validate → normalise → backend available? → rate limits → session store
// available? → auth backend (breaker and bulkhead inside) → second factor or
// session. Later stages (admission, bot filter) slot into the hook lists in request order.
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type FastifyReply, type FastifyRequest, type onRequestAsyncHookHandler } from 'fastify'
import { type Config } from '../config.js'
import { GatewayError } from '../errors.js'
import { type Metrics } from '../infra/metrics.js'
import { type StoreHealth, storeUnavailable } from '../infra/store-guard.js'
import { type Admission } from '../pipeline/admission.js'
import { type LoginLimiter } from '../pipeline/rate-limit.js'
import { invalidRequest } from '../problem-details.js'
import { needsSecondFactor } from '../otp/challenge.js'
import { type OtpService } from '../otp/otp-service.js'
import { setSessionCookie } from '../session/session-cookie.js'
import { type IssuedSession, type SessionStore } from '../session/session-store.js'
import { type AuthBackend } from './auth-backend.js'
import { LoginBody, loginBodyOf, normaliseUsername } from './login-schema.js'

export interface LoginRouteDeps {
  config: Config
  authBackend: AuthBackend
  sessions: SessionStore
  otp: OtpService
  limiter: LoginLimiter
  storeHealth: StoreHealth
  admission: Admission
  identifyClient: onRequestAsyncHookHandler
  metrics: Metrics
  now: () => number
}

export const loginRoutes: FastifyPluginAsyncTypebox<LoginRouteDeps> = async function loginRoutes (app, deps) {
  const { authBackend, sessions, otp, limiter, metrics } = deps

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

  async function sessionStoreAvailable (request: FastifyRequest) {
    if (deps.storeHealth.available()) return
    limiter.undo(request)
    throw storeUnavailable()
  }

  async function countLogin (_request: FastifyRequest, reply: FastifyReply) {
    if (reply.problemCode !== null) metrics.logins.inc({ outcome: reply.problemCode })
  }

  app.post('/auth/login', {
    schema: { body: LoginBody },
    config: { criticality: 'normal' }, // a brand-new login is shed first under pressure
    // Headers only, before the body is read: denied addresses, maintenance, ramp, free slot.
    onRequest: [deps.identifyClient, deps.admission.admit('normal')],
    // Limits before the store check: while Redis is down they still hold, on their insurance.
    preHandler: [normaliseLogin, backendAvailable, limiter.rateLimit, sessionStoreAvailable],
    onResponse: [countLogin]
  }, async function login (request, reply) {
    const { username, password } = request.body
    const answer = await authBackend.verify({ username, password }).catch((err: unknown) => {
      limiter.undo(request)
      throw err
    })
    // One answer for an unknown user and a wrong password: same code, same body, same path.
    // The failure was already counted by the rate-limit stage: nothing more to do.
    if (answer.kind === 'invalid_credentials') throw new GatewayError('invalid_credentials')

    if (needsSecondFactor(answer.user)) {
      // The device is trusted only once the code is right too.
      const userKey = await limiter.succeeded(request) ?? ''
      const challenge = await otp.start(answer.user, userKey)
      metrics.logins.inc({ outcome: 'otp_required' })
      return { status: 'otp_required', ...challenge }
    }

    // Issued together so that ioredis sends both in one round trip.
    const [issued, userKey] = await Promise.all([sessions.issue(answer.user.userId), limiter.succeeded(request)])
    if (userKey !== undefined) limiter.trustDevice(request, reply, userKey)
    metrics.logins.inc({ outcome: 'authenticated' })
    return startSession(reply, issued, deps)
  })
}

/** Sets the cookie for browsers and returns the body for API clients. */
export function startSession (reply: FastifyReply, issued: IssuedSession, { config, metrics }: { config: Config, metrics: Metrics }) {
  metrics.sessionsIssued.inc()
  metrics.sessionsEvicted.inc(issued.evicted)
  setSessionCookie(reply, issued, config)
  return {
    status: 'authenticated',
    userId: issued.session.userId,
    token: issued.token,
    expiresAt: new Date(issued.session.expiresAt).toISOString()
  }
}
