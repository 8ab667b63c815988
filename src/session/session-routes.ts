// GET /auth/session, GET /auth/sessions, POST /auth/logout: what a signed-in client can do.
import { Type } from '@sinclair/typebox'
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type FastifyReply, type FastifyRequest } from 'fastify'
import { type Config } from '../config.js'
import { problems, SessionAnswer, tagRoutes } from '../ops/openapi.js'
import { type Admission } from '../pipeline/admission.js'
import { GatewayError } from '../errors.js'
import { type SessionView } from './session-policy.js'
import { clearSessionCookie, readSessionToken, SESSION_COOKIE } from './session-cookie.js'
import { type SessionStore } from './session-store.js'

export interface SessionRouteDeps {
  sessions: SessionStore
  config: Config
  admission: Admission
}

const iso = (ms: number) => new Date(ms).toISOString()

export function describeSession (s: SessionView) {
  return { userId: s.userId, createdAt: iso(s.createdAt), lastSeenAt: iso(s.lastSeenAt), expiresAt: iso(s.expiresAt), absoluteExpiresAt: iso(s.absoluteExpiresAt) }
}

export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRouteDeps> = async function sessionRoutes (app, { sessions, config, admission }) {
  // People already signed in: served before new logins when the gateway is busy.
  app.addHook('onRequest', admission.admit('critical'))
  app.addHook('onRoute', route => { route.config = { ...route.config, criticality: 'critical' } })
  tagRoutes(app, 'login')

  async function requireSession (request: FastifyRequest, reply: FastifyReply): Promise<{ token: string, session: SessionView }> {
    const token = readSessionToken(request)
    const session = token === undefined ? null : await sessions.validate(token)
    if (token === undefined || session === null) {
      // A browser holding a dead cookie should drop it.
      if (request.cookies[SESSION_COOKIE] !== undefined) clearSessionCookie(reply, config)
      throw new GatewayError('session_invalid')
    }
    return { token, session }
  }

  app.get('/auth/session', {
    schema: { summary: 'The current session (cookie sid or Bearer token); slides its idle timeout', security: [{ session: [] }], response: { 200: SessionAnswer, ...problems('session_invalid', 'maintenance', 'session_store_unavailable') } }
  }, async function currentSession (request, reply) {
    const { session } = await requireSession(request, reply)
    return { status: 'active' as const, ...describeSession(session) }
  })

  app.get('/auth/sessions', { schema: { summary: 'Every live session of the current user', security: [{ session: [] }], response: problems('session_invalid', 'session_store_unavailable') } }, async function listSessions (request, reply) {
    const { session: current } = await requireSession(request, reply)
    const all = await sessions.list(current.userId)
    return { sessions: all.map(s => ({ ...describeSession(s), current: s.id === current.id })) }
  })

  app.post('/auth/logout', {
    schema: {
      summary: 'End the current session, or with all=true every session of the user',
      security: [{ session: [] }],
      querystring: Type.Object({ all: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }, { additionalProperties: false }),
      response: problems('session_invalid', 'session_store_unavailable')
    }
  }, async function logout (request, reply) {
    let ended: number
    if (request.query.all === 'true') {
      const { session } = await requireSession(request, reply)
      ended = await sessions.revokeAll(session.userId)
    } else {
      // No check first: revoking is the check, and it still works while Redis is out (replayed).
      const token = readSessionToken(request)
      ended = token === undefined ? 0 : Number(await sessions.revoke(token))
      if (ended === 0) {
        if (request.cookies[SESSION_COOKIE] !== undefined) clearSessionCookie(reply, config)
        throw new GatewayError('session_invalid')
      }
    }
    clearSessionCookie(reply, config)
    return { status: 'logged_out', ended }
  })
}
