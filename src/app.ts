// buildApp: the only wiring, in pipeline order. It creates what it is not given and closes
// what it created; only server.ts listens.
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
import fastifyHelmet from '@fastify/helmet'
import { type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import { type Redis } from 'ioredis'
import { type Logger } from 'pino'
import { type Config, trustHops } from './config.js'
import { GatewayError } from './errors.js'
import './fastify-augment.js'
import { createLogger, requestIdFor } from './infra/logger.js'
import { createMetrics } from './infra/metrics.js'
import { createRedis, waitForRedis } from './infra/redis.js'
import { createBlockCache } from './limits/block-cache.js'
import { createLimitCounters } from './limits/limit-counters.js'
import { createLimitGuard } from './limits/limit-guard.js'
import { createSharedAddresses } from './limits/shared-addresses.js'
import { createHttpAuthBackend } from './login/auth-backend.js'
import { loginRoutes } from './login/login-routes.js'
import { adminRoutes } from './ops/admin-routes.js'
import { healthRoutes } from './ops/health-routes.js'
import { createMemoryChallengeStore } from './otp/memory-challenge-store.js'
import { createRedisChallengeStore } from './otp/redis-challenge-store.js'
import { createIdentifyClient } from './pipeline/identify-client.js'
import { createLoginLimiter } from './pipeline/rate-limit.js'
import { createProblemSender, problemDocsRoute } from './problem-details.js'
import { createMemorySessionStore } from './session/memory-session-store.js'
import { createRedisSessionStore } from './session/redis-session-store.js'
import { sessionRoutes } from './session/session-routes.js'

export interface AppDeps {
  config: Config
  /** Passed in: the caller owns and closes it. Otherwise made from REDIS_URL, if set. */
  redis?: Redis
  /** The auth backend when the configuration names none (demo mode's in-process backend). */
  authBackendUrl?: string
  /** The clock for session and challenge expiry. */
  now?: () => number
  logger?: Logger
}

export async function buildApp (deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps
  const log = deps.logger ?? createLogger(config.LOG_LEVEL)
  const now = deps.now ?? Date.now
  const metrics = createMetrics()

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    genReqId: requestIdFor,
    requestIdHeader: false, // requestIdFor reads x-request-id and only keeps a safe one
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Slow clients (slowloris) are cut off; Node checks these deadlines every second.
    http: { headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: config.HTTP_IDLE_TIMEOUT_MS,
    // In-flight keep-alive requests finish during a graceful shutdown instead of a bare 503.
    return503OnClosing: false,
    // Unknown fields are rejected, not silently dropped; types are never guessed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  const ownsRedis = deps.redis === undefined && config.REDIS_URL !== undefined
  const redis = deps.redis ?? (config.REDIS_URL === undefined
    ? null
    : createRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS }, log))
  if (ownsRedis && redis) {
    // Start anyway if Redis is down: readiness says so, and the client keeps reconnecting.
    await waitForRedis(redis, config.REDIS_CONNECT_TIMEOUT_MS).catch((err: Error) => log.warn({ err: { message: err.message } }, 'starting without redis'))
  }

  const backendUrl = config.AUTH_BACKEND_URL ?? deps.authBackendUrl
  if (backendUrl === undefined) throw new Error('buildApp needs AUTH_BACKEND_URL or deps.authBackendUrl')
  const authBackend = createHttpAuthBackend({
    url: backendUrl,
    timeoutMs: config.AUTH_BACKEND_TIMEOUT_MS,
    connections: config.AUTH_BACKEND_CONNECTIONS,
    maxConcurrent: config.AUTH_BACKEND_MAX_CONCURRENT,
    breaker: {
      errorThresholdPercentage: config.BREAKER_ERROR_THRESHOLD_PERCENT,
      volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
      resetTimeoutMs: config.BREAKER_RESET_TIMEOUT_MS,
      windowMs: config.BREAKER_WINDOW_MS
    },
    log,
    metrics
  })
  const policy = { idleMs: config.SESSION_IDLE_TIMEOUT_S * 1000, absoluteMs: config.SESSION_ABSOLUTE_TIMEOUT_S * 1000, maxPerUser: config.SESSION_MAX_PER_USER }
  const sessions = redis
    ? createRedisSessionStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, policy, now })
    : createMemorySessionStore({ policy, now })
  const challenges = redis
    ? createRedisChallengeStore({ redis, keyPrefix: config.REDIS_KEY_PREFIX, now })
    : createMemoryChallengeStore({ now })

  const sharedPolicy = { multiplier: config.SHARED_ADDRESS_MULTIPLIER }
  const guard = createLimitGuard({
    counters: createLimitCounters({ redis, keyPrefix: config.REDIS_KEY_PREFIX, limits: config.limits, shared: sharedPolicy, replicas: config.GATEWAY_REPLICAS, metrics }),
    shared: createSharedAddresses({
      redis, keyPrefix: config.REDIS_KEY_PREFIX, minUsers: config.SHARED_ADDRESS_MIN_USERS, cacheTtlMs: 60_000, maxEntries: config.BLOCK_CACHE_MAX_ENTRIES, log, metrics, now
    }),
    blocks: createBlockCache(config.BLOCK_CACHE_MAX_ENTRIES),
    limits: config.limits,
    sharedPolicy,
    metrics
  })
  const limiter = createLoginLimiter({
    guard,
    limits: config.limits,
    secret: config.secret,
    device: { maxAgeS: config.DEVICE_COOKIE_MAX_AGE_DAYS * 86_400, secure: config.sessionCookieSecure },
    now
  })
  const identifyClient = createIdentifyClient({ allow: config.allowList, deny: config.denyList })

  let draining = false
  app.addHook('preClose', async () => { draining = true })
  app.addHook('onClose', async () => {
    await authBackend.close()
    if (ownsRedis && redis) await redis.quit().catch(() => redis.disconnect())
  })

  app.decorateReply('problemCode', null)
  app.decorateRequest('client', null)
  app.decorateRequest('limitState', null)
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
  app.addHook('onSend', async (_request, reply, payload) => {
    // While draining, answered keep-alive connections close now instead of idling until timeout.
    if (draining) reply.header('connection', 'close')
    return payload
  })
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.inc({
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: reply.statusCode,
      code: reply.problemCode ?? ''
    })
  })
  app.setErrorHandler(createProblemSender(config.PROBLEM_TYPE_BASE))
  app.setNotFoundHandler(async function notFound () { throw new GatewayError('not_found') })

  await app.register(fastifyHelmet)
  await app.register(fastifyCookie)
  await app.register(fastifyFormbody, { bodyLimit: config.BODY_LIMIT_BYTES })
  app.removeContentTypeParser('text/plain') // bodies are JSON or form-urlencoded; the rest is 415

  await app.register(healthRoutes, { redis, authBackend, metrics, isDraining: () => draining })
  await app.register(problemDocsRoute)
  await app.register(loginRoutes, { config, authBackend, sessions, challenges, limiter, identifyClient, metrics, now })
  await app.register(sessionRoutes, { config, sessions })
  const adminToken = config.ADMIN_TOKEN
  if (adminToken !== undefined) await app.register(adminRoutes, { config: { ...config, ADMIN_TOKEN: adminToken }, redis, authBackend, sessions })

  return app
}
