// POST /auth/otp/send and POST /auth/otp/verify: finishing a login that needs a second factor.
import { Type } from '@sinclair/typebox'
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type onRequestAsyncHookHandler } from 'fastify'
import { type Config } from '../config.js'
import { type Metrics } from '../infra/metrics.js'
import { startSession } from '../login/login-routes.js'
import { type Admission } from '../pipeline/admission.js'
import { Authenticated, problems, tagRoutes } from '../ops/openapi.js'
import { type Attempts } from '../pipeline/attempt.js'
import { pickLocale } from '../problem-details.js'
import { type SessionStore } from '../session/session-store.js'
import { type OtpService } from './otp-service.js'

export interface OtpRouteDeps {
  config: Config
  otp: OtpService
  sessions: SessionStore
  attempts: Attempts
  admission: Admission
  identifyClient: onRequestAsyncHookHandler
  metrics: Metrics
}

const ChallengeId = Type.String({ pattern: '^[A-Za-z0-9_-]{32}$' })
const SendBody = Type.Object({
  challengeId: ChallengeId,
  channel: Type.Optional(Type.Union([Type.Literal('sms'), Type.Literal('voice'), Type.Literal('email')]))
}, { additionalProperties: false })
const VerifyBody = Type.Object({
  challengeId: ChallengeId,
  code: Type.String({ pattern: '^[0-9]{6}$' })
}, { additionalProperties: false })

export const otpRoutes: FastifyPluginAsyncTypebox<OtpRouteDeps> = async function otpRoutes (app, deps) {
  const { otp, sessions, attempts, metrics } = deps

  // Both finish a login already under way: served before new logins when the gateway is busy.
  const critical = { config: { criticality: 'critical' as const }, onRequest: [deps.identifyClient, deps.admission.admit('critical', { maintenance: false })] }

  tagRoutes(app, 'login')
  app.post('/auth/otp/send', {
    schema: {
      summary: 'Send (or resend) the challenge\'s one-time code over a channel',
      body: SendBody,
      response: {
        200: Type.Object({ status: Type.Literal('sent'), channel: Type.String(), destination: Type.String(), resendAfter: Type.Integer(), expiresAt: Type.String() }),
        ...problems('invalid_request', 'challenge_expired', 'too_many_attempts', 'otp_delivery_failed', 'overloaded', 'session_store_unavailable')
      }
    },
    ...critical
  }, async function sendCode (request) {
    const locale = pickLocale(request.headers['accept-language'])
    const sent = await otp.send(request.body.challengeId, request.body.channel, locale, request.log)
    return { status: 'sent' as const, channel: sent.channel, destination: sent.destination, resendAfter: sent.resendAfterSeconds, expiresAt: new Date(sent.expiresAt).toISOString() }
  })

  app.post('/auth/otp/verify', {
    schema: {
      summary: 'Prove the one-time code: a right code signs in (once)',
      body: VerifyBody,
      response: { 200: Authenticated, ...problems('invalid_request', 'invalid_code', 'challenge_expired', 'overloaded', 'session_store_unavailable') }
    },
    ...critical
  }, async function verifyCode (request, reply) {
    const { userId, userKey } = await otp.verify(request.body.challengeId, request.body.code)
    // A fresh token: nothing from before the code carries over. Issued with the bookkeeping, one round trip.
    const [issued] = await Promise.all([sessions.issue(userId), attempts.completedWithCode(request, userKey)])
    const deviceToken = attempts.trustDevice(request, reply, userKey)
    metrics.logins.inc({ outcome: 'authenticated' })
    return startSession(reply, issued, deps, deviceToken)
  })
}
