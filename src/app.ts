// buildApp: the HTTP wiring, in pipeline order. Components come from components.ts; only
// server.ts listens.
import { type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http'
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
import fastifyUnderPressure from '@fastify/under-pressure'
import { type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import { type Logger } from 'pino'
import { maintenancePhase } from './admission/maintenance.js'
import { jitteredRetryAfter } from './admission/readmission.js'
import { type ComponentDeps, type Components, createComponents } from './components.js'
import { type Config } from './config.js'
import { GatewayError } from './errors.js'
import './fastify-augment.js'
import { createLogger, lazyChildLogger, requestIdFor } from './infra/logger.js'
import { answerHeaders, registerSecurityHeaders } from './infra/security-headers.js'
import { addStateGauge, createMetrics, type Metrics } from './infra/metrics.js'
import { demoPageRoutes } from './demo/demo-page-routes.js'
import { demoRoutes } from './demo/demo-routes.js'
import { loginRoutes } from './login/login-routes.js'
import { adminRoutes } from './ops/admin-routes.js'
import { consoleRoutes } from './ops/console-routes.js'
import { healthRoutes } from './ops/health-routes.js'
import { registerOpenApi } from './ops/openapi.js'
import { createStatsSampler } from './ops/stats-sampler.js'
import { otpRoutes } from './otp/otp-routes.js'
import { createEarlyRefusals, type EarlyRefusals } from './pipeline/early-refusals.js'
import { createClientAddress, createIdentifyClient, fastifyTrustProxy } from './pipeline/identify-client.js'
import { createClientErrorHandler, createProblemSender, problemDocsRoute } from './problem-details.js'
import { sessionRoutes } from './session/session-routes.js'

export interface AppDeps extends Partial<Omit<ComponentDeps, 'config' | 'log' | 'metrics'>> {
  config: Config
  logger?: Logger
}

export async function buildApp (deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps
  const log = deps.logger ?? createLogger(config.LOG_LEVEL)
  const metrics = createMetrics()
  const parts = await createComponents({ ...deps, log, metrics, now: deps.now ?? Date.now })
  let draining = false
  const isDraining = () => draining
  const refuseEarly = createEarlyRefusals({
    decide: parts.guards.decideAtAddress,
    admission: parts.admission,
    underPressure: () => (app as FastifyInstance & { isUnderPressure?: () => boolean }).isUnderPressure?.() ?? false,
    lists: { allow: config.allowList, deny: config.denyList },
    clientAddress: createClientAddress(config.trustProxy),
    headers: answerHeaders(),
    typeBase: config.PROBLEM_TYPE_BASE,
    metrics,
    attempts: parts.guards.attempts,
    log,
    isDraining
  })
  const app = createServer(config, log)
  answerEarly(app.server, refuseEarly, log)
  const now = deps.now ?? Date.now
  addStateGauge(metrics, 'lg_maintenance_active', '1 while a maintenance window is active', () => Number(maintenancePhase(parts.maintenance.current(), now()) === 'active'))
  addStateGauge(metrics, 'lg_readmission_share', 'Share of new logins admitted (1 outside a re-admission ramp)', () => parts.admission.ramp().share)
  addStateGauge(metrics, 'lg_admission_in_flight', 'Requests holding an admission slot', () => parts.admission.inFlight())

  app.addHook('preClose', async () => { draining = true })
  app.addHook('onClose', parts.close)
  addCommonHooks(app, metrics, isDraining)
  app.addHook('onResponse', async request => { parts.admission.release(request) })
  app.addHook('onRequestAbort', async request => { parts.admission.release(request) })
  app.setErrorHandler(createProblemSender(config.PROBLEM_TYPE_BASE))
  app.setNotFoundHandler(async function notFound () { throw new GatewayError('not_found') })

  registerSecurityHeaders(app)
  await app.register(fastifyCookie)
  await app.register(fastifyFormbody, { bodyLimit: config.BODY_LIMIT_BYTES })
  await registerPressureShedding(app, config, metrics)
  app.removeContentTypeParser('text/plain') // bodies are JSON or form-urlencoded; the rest is 415
  await registerOpenApi(app) // before the routes: it describes them as they are added

  await app.register(healthRoutes, { ...parts, metrics, now, isDraining: () => draining })
  await app.register(problemDocsRoute)
  await registerAuthRoutes(app, config, parts, metrics, now)
  await registerAdmin(app, config, parts, metrics, now, log)
  return app
}

/**
 * The admin API and the console page, only with an ADMIN_TOKEN: on the main port, or with
 * ADMIN_PORT on a server of its own (`app.adminServer`, listened on by server.ts) that the
 * public port never exposes.
 */
async function registerAdmin (app: FastifyInstance, config: Config, parts: Components, metrics: Metrics, now: () => number, log: Logger): Promise<void> {
  const adminToken = config.ADMIN_TOKEN
  if (adminToken === undefined) return
  const stats = createStatsSampler(metrics, now)
  app.addHook('onClose', async () => { stats.close() })
  const deps = { ...parts, metrics, stats, now, config: { ...config, ADMIN_TOKEN: adminToken } }
  if (config.ADMIN_PORT === undefined) {
    await app.register(adminRoutes, deps)
    await app.register(consoleRoutes)
    return
  }
  const admin = createServer(config, log)
  addCommonHooks(admin, metrics, () => false)
  admin.setErrorHandler(createProblemSender(config.PROBLEM_TYPE_BASE))
  admin.setNotFoundHandler(async function notFound () { throw new GatewayError('not_found') })
  registerSecurityHeaders(admin)
  await admin.register(adminRoutes, deps)
  await admin.register(consoleRoutes)
  app.decorate('adminServer', admin)
  app.addHook('onClose', async () => { await admin.close() })
}

/**
 * Puts `lane` in front of the request listener Fastify gave its server (early-refusals.ts): what
 * the lane answers never reaches the router. Servers Fastify adds at listen time (a host name
 * with several addresses) keep the router alone.
 */
function answerEarly (server: Server, lane: EarlyRefusals, log: Logger): void {
  const listeners = server.listeners('request') as RequestListener[]
  const route = listeners[0]
  if (route === undefined || listeners.length !== 1) throw new Error(`expected Fastify's one request listener, found ${listeners.length}`)
  server.removeListener('request', route)
  server.on('request', function refuseOrRoute (req: IncomingMessage, res: ServerResponse) {
    try {
      if (lane(req, res)) return
    } catch (err) {
      log.error({ err }, 'early refusal failed; the request goes through the router')
      if (res.headersSent) return
    }
    route(req, res)
  })
}

function createServer (config: Config, log: Logger) {
  return Fastify({
    loggerInstance: log as FastifyBaseLogger,
    genReqId: requestIdFor,
    childLoggerFactory: lazyChildLogger as unknown as FastifyServerOptions['childLoggerFactory'],
    requestIdHeader: false, // requestIdFor reads x-request-id and only keeps a safe one
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    trustProxy: fastifyTrustProxy(config.trustProxy),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Slow clients (slowloris) are cut off; Node checks these deadlines every second.
    http: { headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: config.HTTP_IDLE_TIMEOUT_MS,
    // Requests that never became requests (malformed, too slow) still get a problem document.
    clientErrorHandler: createClientErrorHandler(config.PROBLEM_TYPE_BASE),
    // In-flight keep-alive requests finish during a graceful shutdown instead of a bare 503.
    return503OnClosing: false,
    // Unknown fields are rejected, not silently dropped; types are never guessed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()
}

function addCommonHooks (app: FastifyInstance, metrics: Metrics, isDraining: () => boolean): void {
  app.decorateReply('problemCode', null)
  app.decorateRequest('client', null)
  app.decorateRequest('attempt', null)
  app.decorateRequest('admissionRelease', null)
  app.addHook('onSend', function closeWhileDraining (_request, reply, payload, done) {
    // While draining, answered keep-alive connections close now instead of idling until timeout.
    if (isDraining()) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000)
    metrics.httpRequests.inc({
      route,
      method: request.method,
      status: reply.statusCode,
      code: reply.problemCode ?? ''
    })
  })
}

async function registerAuthRoutes (app: FastifyInstance, config: Config, parts: Components, metrics: Metrics, now: () => number): Promise<void> {
  const identifyClient = createIdentifyClient({ allow: config.allowList, deny: config.denyList })
  const { attempts, addressGate, botFilter, rateLimit } = parts.guards
  await app.register(loginRoutes, { ...parts, attempts, addressGate, botFilter, rateLimit, config, identifyClient, metrics, now })
  await app.register(otpRoutes, { ...parts, attempts, config, identifyClient, metrics })
  await app.register(sessionRoutes, { config, sessions: parts.sessions, admission: parts.admission })
  if (config.mode === 'demo') {
    await app.register(demoRoutes, { ...parts, now })
    await app.register(demoPageRoutes)
  }
}

/**
 * @fastify/under-pressure watches event-loop delay and memory; past a limit, new logins are shed
 * with a jittered 503 overloaded while logins under way, session checks and health answer on.
 */
async function registerPressureShedding (app: FastifyInstance, config: Config, metrics: Metrics): Promise<void> {
  const mb = 1024 * 1024
  const limits = {
    maxEventLoopDelay: config.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.OVERLOAD_MAX_HEAP_USED_MB * mb,
    maxRssBytes: config.OVERLOAD_MAX_RSS_MB * mb
  }
  if (Object.values(limits).every(v => v === 0)) return // the plugin samples even with no limit set
  await app.register(fastifyUnderPressure, {
    ...limits,
    async pressureHandler (request, _reply, type) {
      if (request.routeOptions.config.criticality !== 'normal') return
      metrics.admissionShed.inc({ reason: `pressure_${type}` })
      throw new GatewayError('overloaded', { retryAfterSeconds: jitteredRetryAfter(config.OVERLOAD_RETRY_AFTER_S, Math.random()), logFields: { shed: type } })
    }
  })
}
