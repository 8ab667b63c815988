// The admin API: only with `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type RedisClient } from '../infra/redis.js'
import { type Config } from '../config.js'
import { type MaintenanceWindow, maintenancePhase } from '../admission/maintenance.js'
import { type MaintenanceState } from '../admission/maintenance-state.js'
import { GatewayError } from '../errors.js'
import { type AuthBackend } from '../login/auth-backend.js'
import { type Metrics } from '../infra/metrics.js'
import { type LoginGuards } from '../login-guards.js'
import { adminRulesRoutes } from './admin-rules-routes.js'
import { type StatsSampler } from './stats-sampler.js'
import { type Delivery } from '../otp/delivery.js'
import { type Admission } from '../pipeline/admission.js'
import { invalidRequest } from '../problem-details.js'
import { describeSession } from '../session/session-routes.js'
import { type SessionStore } from '../session/session-store.js'
import { checkRedis } from './health-routes.js'
import { tagRoutes } from './openapi.js'
import { VERSION } from './version.js'

export interface AdminDeps {
  config: Config & { ADMIN_TOKEN: string }
  guards: LoginGuards
  metrics: Metrics
  stats: StatsSampler
  redis: RedisClient | null
  authBackend: AuthBackend
  sessions: SessionStore
  maintenance: MaintenanceState
  admission: Admission
  delivery: Delivery
  now: () => number
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Equal-length digests make the comparison constant-time whatever the input length. */
export function tokenMatches (given: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(given ?? '')
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), digest(expected))
}

const UserParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 256 }) })
const Time = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$' })
const MaintenanceBody = Type.Object({
  from: Type.Optional(Time),
  until: Time,
  message: Type.Optional(Type.Union([
    Type.String({ maxLength: 500 }),
    Type.Object({ en: Type.Optional(Type.String({ maxLength: 500 })), 'zh-CN': Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false })
  ]))
}, { additionalProperties: false })

function describeMaintenance (w: MaintenanceWindow | null, now: number) {
  return {
    phase: maintenancePhase(w, now),
    ...(w === null
      ? {}
      : { ...(w.from === undefined ? {} : { from: new Date(w.from).toISOString() }), until: new Date(w.until).toISOString(), ...(w.message ? { message: w.message } : {}) })
  }
}

export const adminRoutes: FastifyPluginAsyncTypebox<AdminDeps> = async function adminRoutes (app, deps) {
  tagRoutes(app, 'admin')
  app.addHook('onRequest', async function requireAdminToken (request) {
    if (!tokenMatches(request.headers.authorization, deps.config.ADMIN_TOKEN)) throw new GatewayError('admin_token_invalid')
  })

  await app.register(adminRulesRoutes, deps)

  app.get('/admin/status', async function status () {
    return {
      version: VERSION,
      mode: deps.config.mode,
      uptimeSeconds: Math.round(process.uptime()),
      redis: await checkRedis(deps.redis),
      breakers: { authBackend: deps.authBackend.breakerState() },
      otpProviders: deps.delivery.status(),
      maintenance: describeMaintenance(deps.maintenance.current(), deps.now()),
      rules: { version: deps.guards.rules.current().version, origin: deps.guards.rules.current().origin },
      admission: { inFlight: deps.admission.inFlight(), readmission: deps.admission.ramp() }
    }
  })

  app.get('/admin/maintenance', async function getMaintenance () {
    return describeMaintenance(deps.maintenance.current(), deps.now())
  })

  app.put('/admin/maintenance', { schema: { body: MaintenanceBody } }, async function setMaintenance (request) {
    const { from, until, message } = request.body
    const window: MaintenanceWindow = {
      until: Date.parse(until),
      ...(from === undefined ? {} : { from: Date.parse(from) }),
      ...(message === undefined ? {} : { message: typeof message === 'string' ? { en: message } : message })
    }
    if (window.until <= deps.now() || (window.from !== undefined && window.from >= window.until)) {
      throw invalidRequest([{ field: window.until <= deps.now() ? 'until' : 'from', reason: 'invalid_format' }])
    }
    await deps.maintenance.set(window)
    request.log.warn({ maintenance: describeMaintenance(window, deps.now()) }, 'maintenance window set')
    return describeMaintenance(window, deps.now())
  })

  app.delete('/admin/maintenance', async function endMaintenance (request) {
    await deps.maintenance.end()
    request.log.warn('maintenance ended')
    return describeMaintenance(deps.maintenance.current(), deps.now())
  })

  app.get('/admin/users/:userId/sessions', { schema: { params: UserParams } }, async function userSessions (request) {
    const sessions = await deps.sessions.list(request.params.userId)
    return { userId: request.params.userId, sessions: sessions.map(describeSession) }
  })

  app.delete('/admin/users/:userId/sessions', { schema: { params: UserParams } }, async function revokeUserSessions (request) {
    return { userId: request.params.userId, ended: await deps.sessions.revokeAll(request.params.userId) }
  })
}
