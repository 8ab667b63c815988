// The parts of the gateway built from the configuration: Redis, the auth backend behind its
// breaker, the stores, the limits. What it creates, `close` closes; what it is given, it leaves.
import { randomUUID } from 'node:crypto'
import { type Logger } from 'pino'
import { type Config } from './config.js'
import { addStateGauge, type Metrics } from './infra/metrics.js'
import { createConcurrencyLimiter } from './admission/concurrency.js'
import { createDemoFaults, type DemoFaults } from './demo/demo-faults.js'
import { createMaintenanceState, type MaintenanceState } from './admission/maintenance-state.js'
import { createNdjsonSink } from './infra/ndjson-sink.js'
import { closeRedis, createRedis, type RedisClient, waitForRedis } from './infra/redis.js'
import { createStoreHealth, type StoreHealth } from './infra/store-guard.js'
import { createInsuranceStorage, type InsuranceStorage } from './limits/insurance-storage.js'
import { createLoginGuards, type LoginGuards } from './login-guards.js'
import { type AuthBackend, createHttpAuthBackend } from './login/auth-backend.js'
import { createDelivery, type Delivery } from './otp/delivery.js'
import { createMemoryChallengeStore } from './otp/memory-challenge-store.js'
import { createOtpService, type OtpService } from './otp/otp-service.js'
import { createProviders } from './otp/provider-factory.js'
import { createOutbox, type Outbox } from './otp/providers/demo-provider.js'
import { createRedisChallengeStore } from './otp/redis-challenge-store.js'
import { auditRuleChanges } from './rules/rules-state.js'
import { createSendCaps } from './otp/send-caps.js'
import { type Admission, createAdmission } from './pipeline/admission.js'
import { shareBreaker } from './resilience/shared-breaker.js'
import { createMemorySessionStore } from './session/memory-session-store.js'
import { createRedisSessionStore } from './session/redis-session-store.js'
import { withSessionGrace } from './session/session-grace.js'
import { type SessionStore } from './session/session-store.js'

export interface Components {
  redis: RedisClient | null
  admission: Admission
  maintenance: MaintenanceState
  storeHealth: StoreHealth
  authBackend: AuthBackend
  sessions: SessionStore
  otp: OtpService
  delivery: Delivery
  /** What the demo providers sent (empty unless demo providers are configured). */
  outbox: Outbox
  faults: DemoFaults
  guards: LoginGuards
  close: () => Promise<void>
}

export interface ComponentDeps {
  config: Config
  log: Logger
  metrics: Metrics
  now: () => number
  /** Passed in: the caller owns and closes it. Otherwise made from the Redis configuration, if any. */
  redis?: RedisClient
  /** The auth backend when the configuration names none (demo mode's in-process backend). */
  authBackendUrl?: string
  /** Randomness of load shedding (re-admission share, jitter); tests pass a seeded one. */
  random?: () => number
  /** Demo mode's fault switches, shared with the in-process demo backend. */
  demoFaults?: DemoFaults
}

export async function createComponents (deps: ComponentDeps): Promise<Components> {
  const { config, log, metrics, now } = deps
  const redis = deps.redis ?? await connectRedis(config, log)
  const ownsRedis = deps.redis === undefined && redis !== null
  const storeHealth = createStoreHealth({ redis, log, now })
  const authBackend = createAuthBackend(config, redis, deps.authBackendUrl, log, metrics, now)
  const keyPrefix = config.REDIS_KEY_PREFIX
  const faults = deps.demoFaults ?? createDemoFaults()
  // One bound for every count kept in process, whatever the number of keys an attack brings.
  const counts = createInsuranceStorage(config.LIMIT_INSURANCE_MAX_KEYS, now)
  addStateGauge(metrics, 'lg_limit_insurance_keys', 'Limit keys counted in process (insurance while Redis fails; every key without Redis), at most LIMIT_INSURANCE_MAX_KEYS', () => counts.size)
  const otp = createOtp(config, redis, storeHealth, log, metrics, now, faults, counts)
  const guards = await createLoginGuards(config, redis, log, metrics, now, counts)
  const audit = createNdjsonSink(config.AUDIT_LOG, config.DECISION_LOG_MAX_BYTES) // shares the file with the guards' own
  auditRuleChanges(guards.rules, audit)
  const policy = { idleMs: config.SESSION_IDLE_TIMEOUT_S * 1000, absoluteMs: config.SESSION_ABSOLUTE_TIMEOUT_S * 1000, maxPerUser: config.SESSION_MAX_PER_USER }
  const maintenance = createMaintenanceState({
    redis, keyPrefix, configured: config.maintenance, keepEndedMs: config.READMISSION_DURATION_S * 1000 + 60_000, pollMs: 1000, log, now
  })
  const admission = createAdmission({
    slots: createConcurrencyLimiter({ max: config.ADMISSION_MAX_CONCURRENT, reservedForCritical: config.ADMISSION_RESERVED_CRITICAL, maxWaitMs: config.ADMISSION_MAX_WAIT_MS }),
    maintenance,
    ramp: { startShare: config.READMISSION_START_PERCENT / 100, durationMs: config.READMISSION_DURATION_S * 1000 },
    retryAfterS: config.OVERLOAD_RETRY_AFTER_S,
    maintenanceBlocksSessions: config.MAINTENANCE_BLOCKS_SESSIONS,
    metrics,
    now,
    random: deps.random ?? Math.random
  })
  await maintenance.refresh()
  authBackend.onBreakerChange(state => { if (state === 'closed') admission.backendRecovered(now()) })
  const sessions = redis
    ? createRedisSessionStore({ redis, keyPrefix, secret: config.secret, policy, health: storeHealth, now })
    : createMemorySessionStore({ secret: config.secret, policy, now })
  const graced = withSessionGrace(sessions, { graceMs: config.SESSION_GRACE_S * 1000, maxEntries: config.SESSION_GRACE_MAX_ENTRIES, policy, metrics, now, log })
  return {
    redis,
    admission,
    maintenance,
    storeHealth,
    authBackend,
    sessions: graced,
    ...otp,
    faults,
    guards,
    async close () {
      maintenance.close()
      graced.close()
      await Promise.all([authBackend.close(), otp.delivery.close(), guards.close(), audit.close()])
      if (ownsRedis && redis) await closeRedis(redis)
    }
  }
}

async function connectRedis (config: Config, log: Logger): Promise<RedisClient | null> {
  if (config.redis === null) return null
  const redis = createRedis({ topology: config.redis, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS }, log)
  // Start anyway if Redis is down: readiness says so, and the client keeps reconnecting.
  await waitForRedis(redis, config.REDIS_CONNECT_TIMEOUT_MS).catch((err: Error) => log.warn({ err: { message: err.message } }, 'starting without redis'))
  return redis
}

// Names this process among the replicas sharing a breaker.
const REPLICA_ID = randomUUID()

function createAuthBackend (config: Config, redis: RedisClient | null, fallbackUrl: string | undefined, log: Logger, metrics: Metrics, now: () => number): AuthBackend {
  const url = config.AUTH_BACKEND_URL ?? fallbackUrl
  if (url === undefined) throw new Error('the gateway needs AUTH_BACKEND_URL, or the demo backend in demo mode')
  return createHttpAuthBackend({
    url,
    timeoutMs: config.AUTH_BACKEND_TIMEOUT_MS,
    maxConcurrent: config.AUTH_BACKEND_MAX_CONCURRENT,
    retryRatio: config.AUTH_BACKEND_RETRY_BUDGET_PERCENT / 100,
    breaker: {
      errorThresholdPercentage: config.BREAKER_ERROR_THRESHOLD_PERCENT,
      volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
      resetTimeoutMs: config.BREAKER_RESET_TIMEOUT_MS,
      windowMs: config.BREAKER_WINDOW_MS,
      ...(config.AUTH_BACKEND_SLOW_MS > 0 ? { slowCalls: { thresholdMs: config.AUTH_BACKEND_SLOW_MS, ratePercent: config.BREAKER_SLOW_CALL_PERCENT } } : {})
    },
    ...(config.BREAKER_SHARED && redis !== null
      ? {
          share: breaker => shareBreaker(breaker, {
            redis, keyPrefix: config.REDIS_KEY_PREFIX, name: 'auth_backend', replicaId: REPLICA_ID, quorum: config.BREAKER_SHARED_QUORUM, resetTimeoutMs: config.BREAKER_RESET_TIMEOUT_MS, pollMs: 500, log, now
          })
        }
      : {}),
    log,
    metrics
  })
}

function createOtp (config: Config, redis: RedisClient | null, health: StoreHealth, log: Logger, metrics: Metrics, now: () => number, faults: DemoFaults, counts: InsuranceStorage): Pick<Components, 'otp' | 'delivery' | 'outbox'> {
  const keyPrefix = config.REDIS_KEY_PREFIX
  const outbox = createOutbox()
  const delivery = createDelivery({
    providers: createProviders(config.otpProviders, outbox, faults),
    hedgeMs: config.OTP_HEDGE_MS,
    breaker: {
      errorThresholdPercentage: config.BREAKER_ERROR_THRESHOLD_PERCENT,
      volumeThreshold: config.OTP_BREAKER_VOLUME_THRESHOLD,
      resetTimeoutMs: config.OTP_BREAKER_RESET_TIMEOUT_MS,
      windowMs: config.BREAKER_WINDOW_MS
    },
    log,
    metrics
  })
  const otp = createOtpService({
    store: redis ? createRedisChallengeStore({ redis, keyPrefix, secret: config.secret, health, now }) : createMemoryChallengeStore({ now }),
    delivery,
    caps: createSendCaps({
      redis,
      keyPrefix,
      secret: config.secret,
      replicas: config.GATEWAY_REPLICAS,
      metrics,
      storage: counts,
      perDestinationPerDay: config.OTP_SENDS_PER_DESTINATION_PER_DAY,
      perCountryPerHour: config.OTP_SENDS_PER_COUNTRY_PER_HOUR
    }),
    secret: config.secret,
    settings: {
      challengeTtlMs: config.OTP_CHALLENGE_TTL_S * 1000,
      resendCooldownMs: config.OTP_RESEND_COOLDOWN_S * 1000,
      maxSendsPerChallenge: config.OTP_MAX_SENDS_PER_CHALLENGE,
      maxAttempts: config.OTP_MAX_ATTEMPTS
    },
    metrics,
    now
  })
  return { otp, delivery, outbox }
}
