// The admin API: only with `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type Redis } from 'ioredis'
import { type Config } from '../config.js'
import { GatewayError } from '../errors.js'
import { type AuthBackend } from '../login/auth-backend.js'
import { describeSession } from '../session/session-routes.js'
import { type SessionStore } from '../session/session-store.js'
import { checkRedis } from './health-routes.js'
import { VERSION } from './version.js'

export interface AdminDeps {
  config: Config & { ADMIN_TOKEN: string }
  redis: Redis | null
  authBackend: AuthBackend
  sessions: SessionStore
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Equal-length digests make the comparison constant-time whatever the input length. */
export function tokenMatches (given: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(given ?? '')
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), digest(expected))
}

const UserParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 256 }) })

export const adminRoutes: FastifyPluginAsyncTypebox<AdminDeps> = async function adminRoutes (app, deps) {
  app.addHook('onRequest', async function requireAdminToken (request) {
    if (!tokenMatches(request.headers.authorization, deps.config.ADMIN_TOKEN)) throw new GatewayError('admin_token_invalid')
  })

  app.get('/admin/status', async function status () {
    return {
      version: VERSION,
      mode: deps.config.mode,
      uptimeSeconds: Math.round(process.uptime()),
      redis: await checkRedis(deps.redis),
      breakers: { authBackend: deps.authBackend.breakerState() }
    }
  })

  app.get('/admin/users/:userId/sessions', { schema: { params: UserParams } }, async function userSessions (request) {
    const sessions = await deps.sessions.list(request.params.userId)
    return { userId: request.params.userId, sessions: sessions.map(describeSession) }
  })

  app.delete('/admin/users/:userId/sessions', { schema: { params: UserParams } }, async function revokeUserSessions (request) {
    return { userId: request.params.userId, ended: await deps.sessions.revokeAll(request.params.userId) }
  })
}
