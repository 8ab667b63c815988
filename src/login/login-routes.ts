// POST /auth/login, top to bottom: validate → normalise → auth backend (breaker and bulkhead
// inside) → second factor or session. Later stages (admission, bot filter, rate limits) slot
// into the hook lists in request order.
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type FastifyReply, type FastifyRequest } from 'fastify'
import { type Config } from '../config.js'
import { GatewayError } from '../errors.js'
import { type Metrics } from '../infra/metrics.js'
import { invalidRequest } from '../problem-details.js'
import { type ChallengeStore, channelsOf, maskedDestination, needsSecondFactor, newChallenge } from '../otp/challenge.js'
import { setSessionCookie } from '../session/session-cookie.js'
import { type IssuedSession, type SessionStore } from '../session/session-store.js'
import { type AuthBackend } from './auth-backend.js'
import { LoginBody, type LoginInput, normaliseUsername } from './login-schema.js'

export interface LoginRouteDeps {
  config: Config
  authBackend: AuthBackend
  sessions: SessionStore
  challenges: ChallengeStore
  metrics: Metrics
  now: () => number
}

export const loginRoutes: FastifyPluginAsyncTypebox<LoginRouteDeps> = async function loginRoutes (app, deps) {
  const { config, authBackend, sessions, challenges, metrics, now } = deps

  async function normaliseLogin (request: FastifyRequest<{ Body: LoginInput }>) {
    const username = normaliseUsername(request.body.username)
    if (!username.ok) throw invalidRequest([username.error])
    request.body.username = username.value
  }

  async function countLogin (_request: FastifyRequest, reply: FastifyReply) {
    if (reply.problemCode !== null) metrics.logins.inc({ outcome: reply.problemCode })
  }

  app.post('/auth/login', {
    schema: { body: LoginBody },
    preHandler: [normaliseLogin],
    onResponse: [countLogin]
  }, async function login (request, reply) {
    const { username, password } = request.body
    const answer = await authBackend.verify({ username, password })
    // One answer for an unknown user and a wrong password: same code, same body, same path.
    if (answer.kind === 'invalid_credentials') throw new GatewayError('invalid_credentials')

    if (needsSecondFactor(answer.user)) {
      const challenge = newChallenge(answer.user, now(), config.OTP_CHALLENGE_TTL_S * 1000)
      await challenges.create(challenge)
      const channels = channelsOf(challenge)
      metrics.logins.inc({ outcome: 'otp_required' })
      return { status: 'otp_required', challengeId: challenge.id, channels, destination: channels[0] && maskedDestination(challenge, channels[0]) }
    }

    const issued = await sessions.issue(answer.user.userId)
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
