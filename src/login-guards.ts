// The login guards built from the configuration: limit counters, velocity signals, abuse rules
// (with hot reload), challenges, exemptions, and the decision and audit logs.
import { fileURLToPath } from 'node:url'
import { type RedisClient } from './infra/redis.js'
import { type Logger } from 'pino'
import { createVelocity } from './bots/velocity.js'
import { createVelocitySnapshots } from './bots/velocity-snapshots.js'
import { createCaptchaVerifier } from './challenge/captcha.js'
import { createChallengeGate } from './challenge/challenge-gate.js'
import { type Config } from './config.js'
import { type Metrics } from './infra/metrics.js'
import { createNdjsonSink } from './infra/ndjson-sink.js'
import { type BlockCache, createBlockCache } from './limits/block-cache.js'
import { createExemptions, type Exemptions } from './limits/exemptions.js'
import { type InsuranceStorage } from './limits/insurance-storage.js'
import { createLimitCounters, type LimitCounters } from './limits/limit-counters.js'
import { createLimitGuard, type LimitGuard } from './limits/limit-guard.js'
import { createSharedAddresses } from './limits/shared-addresses.js'
import { createUserKeys } from './limits/user-key.js'
import { type Attempts, createAttempts } from './pipeline/attempt.js'
import { type AddressDecision, createAddressDecision, createAddressGate } from './pipeline/address-gate.js'
import { createBotFilter } from './pipeline/bot-filter.js'
import { createRateLimit } from './pipeline/rate-limit.js'
import { createDecisionLog, type DecisionLog } from './rules/decision-log.js'
import { createRulesState, type RulesState } from './rules/rules-state.js'

// How long a refused address's velocity reading decides its next refusals without Redis. Its
// counters do not move while it is refused early (those attempts are never counted), so a
// re-read would mostly show the window's decay; a minute, like a limit's block.
const SNAPSHOT_TTL_MS = 60_000

export const DEFAULT_RULES_FILE = fileURLToPath(new URL('../rules/default-rules.yaml', import.meta.url))

export interface LoginGuards {
  guard: LimitGuard
  counters: LimitCounters
  blocks: BlockCache
  attempts: Attempts
  addressGate: ReturnType<typeof createAddressGate>
  /** The address gate's decision, for refusals answered below the router (early-refusals.ts). */
  decideAtAddress: AddressDecision
  botFilter: ReturnType<typeof createBotFilter>
  rateLimit: ReturnType<typeof createRateLimit>
  rules: RulesState
  decisions: DecisionLog
  exemptions: Exemptions
  userKeyOf: (username: string) => string
  close: () => Promise<void>
}

export async function createLoginGuards (config: Config, redis: RedisClient | null, log: Logger, metrics: Metrics, now: () => number, storage: InsuranceStorage): Promise<LoginGuards> {
  const keyPrefix = config.REDIS_KEY_PREFIX
  const sharedPolicy = { multiplier: config.SHARED_ADDRESS_MULTIPLIER }
  const counters = createLimitCounters({ redis, keyPrefix, limits: config.limits, shared: sharedPolicy, replicas: config.GATEWAY_REPLICAS, metrics, storage })
  const blocks = createBlockCache(config.BLOCK_CACHE_MAX_ENTRIES, now)
  const guard = createLimitGuard({
    counters,
    shared: createSharedAddresses({ redis, keyPrefix, minUsers: config.SHARED_ADDRESS_MIN_USERS, cacheTtlMs: 60_000, maxEntries: config.BLOCK_CACHE_MAX_ENTRIES, log, metrics, now }),
    blocks,
    limits: config.limits,
    sharedPolicy,
    metrics
  })
  const velocity = createVelocity({ redis, keyPrefix, windowS: config.VELOCITY_WINDOW_S, now, maxEntries: config.BLOCK_CACHE_MAX_ENTRIES })
  const gate = createChallengeGate({
    redis,
    keyPrefix,
    secret: config.secret,
    difficulty: config.CHALLENGE_POW_DIFFICULTY,
    ttlMs: config.CHALLENGE_TTL_S * 1000,
    now,
    maxEntries: config.BLOCK_CACHE_MAX_ENTRIES,
    ...(config.CAPTCHA_VERIFY_URL && config.CAPTCHA_SECRET && config.CAPTCHA_SITE_KEY
      ? {
          captcha: {
            siteKey: config.CAPTCHA_SITE_KEY,
            verifier: createCaptchaVerifier({ url: config.CAPTCHA_VERIFY_URL, secret: config.CAPTCHA_SECRET, timeoutMs: 2000, onError: message => log.warn(message) })
          }
        }
      : {})
  })
  const rules = await createRulesState({ redis, keyPrefix, file: config.RULES_FILE ?? DEFAULT_RULES_FILE, shadowOnly: config.rulesShadowOnly, pollMs: 1000, log, now })
  const decisions = createDecisionLog({ target: config.DECISION_LOG, maxBytes: config.DECISION_LOG_MAX_BYTES, keepInMemory: 1000, keepPerSecond: 50, now })
  const audit = createNdjsonSink(config.AUDIT_LOG, config.DECISION_LOG_MAX_BYTES)
  const exemptions = createExemptions({ redis, keyPrefix, audit, pollMs: 1000, now })
  await exemptions.refresh()
  const keyOf = createUserKeys(config.secret)
  const attempts = createAttempts({
    guard, velocity, decisions, userKeyOf: keyOf, secret: config.secret, device: { maxAgeS: config.DEVICE_COOKIE_MAX_AGE_DAYS * 86_400, secure: config.sessionCookieSecure }, now
  })
  const snapshots = createVelocitySnapshots(SNAPSHOT_TTL_MS, config.BLOCK_CACHE_MAX_ENTRIES, now)
  const refusals = { guard, velocity, snapshots, limits: config.limits, gate, rules, exemptions, exposeRuleId: config.RULES_EXPOSE_RULE_ID, metrics, now }
  const decideAtAddress = createAddressDecision(refusals)
  return {
    guard,
    counters,
    blocks,
    attempts,
    addressGate: createAddressGate(decideAtAddress),
    decideAtAddress,
    botFilter: createBotFilter({
      ...refusals, attempts, userKeyOf: keyOf, secret: config.secret, deviceMaxAgeS: config.DEVICE_COOKIE_MAX_AGE_DAYS * 86_400
    }),
    rateLimit: createRateLimit({ guard, gate, limits: config.limits, onRefused: velocity.forgetGlobal }),
    rules,
    decisions,
    exemptions,
    userKeyOf: keyOf,
    async close () {
      rules.close()
      exemptions.close()
      await Promise.all([decisions.close(), audit.close(), gate.close()])
    }
  }
}
