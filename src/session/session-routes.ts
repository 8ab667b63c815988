// GET /auth/session, GET /auth/sessions, POST /auth/logout: what a signed-in client can do.
import { Type } from '@sinclair/typebox'
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type FastifyReply, type FastifyRequest } from 'fastify'
import { type Config } from '../config.js'
import { GatewayError } from '../errors.js'
import { type SessionView } from './session-policy.js'
import { clearSessionCookie, readSessionToken, SESSION_COOKIE } from './session-cookie.js'
import { type SessionStore } from './session-store.js'

export interface SessionRouteDeps {
  sessions: SessionStore
  config: Config
}

const iso = (ms: number) => new Date(ms).toISOString()

export function describeSession (s: SessionView) {
  return { userId: s.userId, createdAt: iso(s.createdAt), lastSeenAt: iso(s.lastSeenAt), expiresAt: iso(s.expiresAt), absoluteExpiresAt: iso(s.absoluteExpiresAt) }
}

export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRouteDeps> = async function sessionRoutes (app, { sessions, config }) {
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

  app.get('/auth/session', async function currentSession (request, reply) {
    const { session } = await requireSession(request, reply)
    return { status: 'active', ...describeSession(session) }
  })

  app.get('/auth/sessions', async function listSessions (request, reply) {
    const { session: current } = await requireSession(request, reply)
    const all = await sessions.list(current.userId)
    return { sessions: all.map(s => ({ ...describeSession(s), current: s.id === current.id })) }
  })

  app.post('/auth/logout', {
    schema: { querystring: Type.Object({ all: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }, { additionalProperties: false }) }
  }, async function logout (request, reply) {
    const { token, session } = await requireSession(request, reply)
    const ended = request.query.all === 'true' ? await sessions.revokeAll(session.userId) : Number(await sessions.revoke(token))
    clearSessionCookie(reply, config)
    return { status: 'logged_out', ended }
  })
}
