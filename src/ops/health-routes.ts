// Liveness, readiness and metrics. Readiness reports degraded dependencies but stays 200 while
// the gateway can still answer every request clearly; only a draining process says 503.
import { type FastifyPluginAsync } from 'fastify'
import { type RedisClient } from '../infra/redis.js'
import { type AuthBackend } from '../login/auth-backend.js'
import { type Metrics } from '../infra/metrics.js'
import { maintenancePhase } from '../admission/maintenance.js'
import { type MaintenanceState } from '../admission/maintenance-state.js'
import { type Admission } from '../pipeline/admission.js'
import { tagRoutes } from './openapi.js'

export interface HealthDeps {
  redis: RedisClient | null
  authBackend: AuthBackend
  maintenance: MaintenanceState
  admission: Admission
  metrics: Metrics
  now: () => number
  isDraining: () => boolean
}

export async function checkRedis (redis: RedisClient | null): Promise<'ok' | 'down' | 'not_configured'> {
  if (redis === null) return 'not_configured'
  try {
    await redis.ping()
    return 'ok'
  } catch {
    return 'down'
  }
}

export const healthRoutes: FastifyPluginAsync<HealthDeps> = async function healthRoutes (app, deps) {
  tagRoutes(app, 'ops')
  app.get('/healthz', { schema: { summary: 'Liveness: 200 while the process runs' } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { summary: 'Readiness: ready, degraded or maintenance with checks; 503 while draining' } }, async function readiness (_request, reply) {
    const checks = {
      redis: await checkRedis(deps.redis),
      authBackend: deps.authBackend.breakerState(),
      maintenance: maintenancePhase(deps.maintenance.current(), deps.now()),
      readmissionShare: deps.admission.ramp().share
    }
    if (deps.isDraining()) return reply.code(503).send({ status: 'draining', checks })
    if (checks.maintenance === 'active') return { status: 'maintenance', checks }
    const degraded = checks.redis === 'down' || checks.authBackend !== 'closed'
    return { status: degraded ? 'degraded' : 'ready', checks }
  })

  app.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async function metrics (_request, reply) {
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.scrape())
  })
}
