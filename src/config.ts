// One typed, validated configuration: defaults < config file < environment. The schema is the
// type, and the only place a key, its default and its allowed values are written down.
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { Ajv, type ErrorObject } from 'ajv'
import { type CidrList, parseCidrList } from './limits/address.js'
import { DEFAULT_LIMITS, LIMIT_NAMES, type LimitName, type Limits } from './limits/limit-policy.js'
import { type MaintenanceWindow } from './admission/maintenance.js'
import { parseHostPorts, type RedisTopology } from './infra/redis.js'
import { parseProviders, type ProviderConfig } from './otp/provider-config.js'

const LimitOverride = Type.Partial(Type.Object({
  points: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
  windowS: Type.Integer({ minimum: 1, maximum: 30 * 86_400 }),
  blockS: Type.Integer({ minimum: 0, maximum: 30 * 86_400 }),
  maxBlockS: Type.Integer({ minimum: 1, maximum: 365 * 86_400 }),
  shadow: Type.Boolean(),
  enabled: Type.Boolean(),
  onExceed: Type.Union([Type.Literal('refuse'), Type.Literal('challenge')])
}, { additionalProperties: false }))

const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$'

const Int = (min: number, max: number, def?: number, description?: string) =>
  Type.Integer({ minimum: min, maximum: max, ...(def === undefined ? {} : { default: def }), description })

export const ConfigSchema = Type.Object({
  PORT: Int(0, 65535, 8080),
  HOST: Type.Optional(Type.String({ minLength: 1, description: 'default 127.0.0.1 in demo mode, 0.0.0.0 in production' })),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info' }),

  AUTH_BACKEND_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'set = production mode' })),
  AUTH_BACKEND_TIMEOUT_MS: Int(50, 60_000, 2000),
  AUTH_BACKEND_MAX_CONCURRENT: Int(1, 10_000, 256, 'bulkhead: concurrent backend calls, one connection each; more answer 503 overloaded'),
  BREAKER_ERROR_THRESHOLD_PERCENT: Int(1, 100, 50),
  BREAKER_VOLUME_THRESHOLD: Int(1, 100_000, 20, 'calls in the window before the breaker may open'),
  BREAKER_RESET_TIMEOUT_MS: Int(50, 600_000, 10_000, 'open time before a half-open probe'),
  BREAKER_WINDOW_MS: Int(100, 600_000, 10_000, 'rolling window of the error rate'),
  BREAKER_SHARED: Type.Boolean({ default: false, description: 'replicas share the backend breaker through Redis' }),
  BREAKER_SHARED_QUORUM: Int(1, 1000, 2, 'replicas whose breaker opened that open it everywhere'),

  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$', description: 'a single Redis' })),
  REDIS_SENTINELS: Type.Optional(Type.String({ minLength: 3, description: 'host:port,host:port of the sentinels' })),
  REDIS_SENTINEL_MASTER: Type.Optional(Type.String({ minLength: 1, description: 'the master name the sentinels watch' })),
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({ minLength: 3, description: 'host:port,host:port seed nodes of a Redis Cluster' })),
  REDIS_PASSWORD: Type.Optional(Type.String({ minLength: 1, description: 'for Sentinel and Cluster nodes (REDIS_URL carries its own)' })),
  REDIS_SENTINEL_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9:_.-]{1,32}$', default: 'lg:' }),
  REDIS_COMMAND_TIMEOUT_MS: Int(10, 10_000, 100, 'a Redis call fails after this long'),
  REDIS_CONNECT_TIMEOUT_MS: Int(50, 60_000, 1000),

  GATEWAY_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HMAC key of device cookies and username hashes; the same on every replica' })),
  LIMITS: Type.Optional(Type.Partial(Type.Object(Object.fromEntries(LIMIT_NAMES.map(name => [name, LimitOverride])), { additionalProperties: false }))),
  SHARED_ADDRESS_MIN_USERS: Int(2, 1_000_000, 10, 'distinct successful users per day that make an address shared'),
  SHARED_ADDRESS_MULTIPLIER: Int(1, 1000, 10, 'IP-wide budgets of a shared address are this many times larger'),
  GATEWAY_REPLICAS: Int(1, 1000, 1, 'replicas sharing Redis: each enforces its share while Redis is down'),
  ALLOW_CIDRS: Type.String({ default: '', description: 'comma-separated CIDRs exempt from rate limits' }),
  DENY_CIDRS: Type.String({ default: '', description: 'comma-separated CIDRs refused with request_blocked' }),
  DEVICE_COOKIE_MAX_AGE_DAYS: Int(1, 730, 180),
  BLOCK_CACHE_MAX_ENTRIES: Int(100, 10_000_000, 100_000, 'blocked keys remembered in process'),
  LIMIT_INSURANCE_MAX_KEYS: Int(100, 10_000_000, 100_000, 'limit keys counted in process while Redis is down (keys counted once go first)'),
  TRUST_PROXY: Type.String({ default: '', description: 'off; true; a hop count; or comma-separated IPs/CIDRs of trusted proxies' }),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 24, description: 'enables /admin; at least 24 characters' })),
  ADMIN_PORT: Type.Optional(Int(0, 65535, undefined, 'serve /admin (and the console) on this port only')),
  RULES_FILE: Type.Optional(Type.String({ minLength: 1, description: 'the abuse rules (YAML); default: the shipped rules/default-rules.yaml' })),
  RULES_EXPOSE_RULE_ID: Type.Boolean({ default: false, description: 'request_blocked names the rule (helps attackers tune)' }),
  RULES_SHADOW_ONLY: Type.Optional(Type.Boolean({ description: 'every rule runs in shadow mode; default true in demo mode without RULES_FILE' })),
  DECISION_LOG: Type.String({ default: 'off', description: "'off', 'stdout' or a file path: one NDJSON line per login decision" }),
  DECISION_LOG_MAX_BYTES: Int(1024, 10 * 1024 ** 3, 100 * 1024 ** 2, 'the decision log file moves to <file>.1 past this'),
  AUDIT_LOG: Type.String({ default: 'stdout', description: "'off', 'stdout' or a file path: unblocks and rule changes" }),
  VELOCITY_WINDOW_S: Int(60, 86_400, 600, 'sliding window of the velocity signals'),
  CHALLENGE_POW_DIFFICULTY: Int(8, 28, 16, 'leading zero bits of the proof of work'),
  CHALLENGE_TTL_S: Int(10, 3600, 120, 'a challenge must be solved within this'),
  CAPTCHA_VERIFY_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'siteverify endpoint (Turnstile, reCAPTCHA, hCaptcha)' })),
  CAPTCHA_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  CAPTCHA_SITE_KEY: Type.Optional(Type.String({ minLength: 1 })),

  SESSION_IDLE_TIMEOUT_S: Int(10, 30 * 86_400, 900, 'OWASP Session Management: 15-30 min idle'),
  SESSION_ABSOLUTE_TIMEOUT_S: Int(60, 365 * 86_400, 28_800, 'OWASP Session Management: 4-8 h absolute'),
  SESSION_MAX_PER_USER: Int(1, 1000, 5, 'oldest sessions are evicted past this'),
  SESSION_COOKIE_SECURE: Type.Optional(Type.Boolean({ description: 'default true in production, false in demo mode' })),
  SESSION_COOKIE_SAMESITE: Type.Union([Type.Literal('strict'), Type.Literal('lax'), Type.Literal('none')], { default: 'lax' }),

  OTP_CHALLENGE_TTL_S: Int(30, 3600, 300, 'a second-factor challenge expires after this'),
  OTP_RESEND_COOLDOWN_S: Int(0, 3600, 60, 'between two sends of one challenge'),
  OTP_MAX_SENDS_PER_CHALLENGE: Int(1, 100, 5),
  OTP_MAX_ATTEMPTS: Int(1, 100, 5, 'wrong codes before the challenge is burnt'),
  OTP_SENDS_PER_DESTINATION_PER_DAY: Int(1, 10_000, 10, 'SMS pumping: sends to one number or address per day'),
  OTP_SENDS_PER_COUNTRY_PER_HOUR: Int(1, 10_000_000, 10_000, 'toll fraud: sends to one country calling code per hour; size it above your normal peak'),
  OTP_HEDGE_MS: Int(0, 60_000, 0, '0: off; otherwise try the next provider too when one is this slow'),
  OTP_BREAKER_VOLUME_THRESHOLD: Int(1, 100_000, 3, 'sends in the window before a provider breaker may open'),
  OTP_BREAKER_RESET_TIMEOUT_MS: Int(50, 600_000, 30_000),
  OTP_PROVIDERS: Type.Optional(Type.Array(Type.Object({ type: Type.String() }), { maxItems: 32, description: 'JSON list of providers; see README' })),

  ADMISSION_MAX_CONCURRENT: Int(1, 100_000, 512, 'requests in the login pipeline at once'),
  ADMISSION_RESERVED_CRITICAL: Int(0, 100_000, 64, 'slots new logins leave free for OTP verification and session checks'),
  ADMISSION_MAX_WAIT_MS: Int(0, 10_000, 50, 'how long a request may wait for a slot before 503 overloaded'),
  OVERLOAD_RETRY_AFTER_S: Int(1, 3600, 2, 'base of the jittered Retry-After of a shed request'),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: Int(0, 60_000, 500, 'shed new logins past this event-loop delay; 0: off'),
  OVERLOAD_MAX_HEAP_USED_MB: Int(0, 1_000_000, 0, 'shed new logins past this heap; 0: off'),
  OVERLOAD_MAX_RSS_MB: Int(0, 1_000_000, 0, 'shed new logins past this resident memory; 0: off'),
  MAINTENANCE_FROM: Type.Optional(Type.String({ pattern: ISO_TIME, description: 'ISO 8601; with MAINTENANCE_UNTIL, a configured window' })),
  MAINTENANCE_UNTIL: Type.Optional(Type.String({ pattern: ISO_TIME })),
  MAINTENANCE_MESSAGE_EN: Type.Optional(Type.String({ maxLength: 500 })),
  MAINTENANCE_MESSAGE_ZH: Type.Optional(Type.String({ maxLength: 500 })),
  MAINTENANCE_BLOCKS_SESSIONS: Type.Boolean({ default: false, description: 'session checks also answer 503 maintenance' }),
  READMISSION_START_PERCENT: Int(1, 100, 10, 'share of new logins admitted when re-admission starts'),
  READMISSION_DURATION_S: Int(0, 3600, 60, 'time to ramp up to every login after maintenance or a backend outage; 0: off'),
  SESSION_GRACE_S: Int(0, 3600, 60, 'while Redis is down, sessions validated this recently still validate; 0: off'),
  SESSION_GRACE_MAX_ENTRIES: Int(1, 10_000_000, 100_000),
  AUTH_BACKEND_SLOW_MS: Int(0, 60_000, 1000, 'backend answers slower than this count as slow calls; 0: off'),
  BREAKER_SLOW_CALL_PERCENT: Int(1, 100, 50, 'share of slow calls in the window that opens the breaker'),
  AUTH_BACKEND_RETRY_BUDGET_PERCENT: Int(0, 100, 10, 'connection failures are retried once, within this share of traffic; 0: never'),
  BODY_LIMIT_BYTES: Int(256, 1_048_576, 4096),
  HTTP_HEADERS_TIMEOUT_MS: Int(100, 600_000, 10_000, 'slow-header (slowloris) cut-off'),
  HTTP_REQUEST_TIMEOUT_MS: Int(100, 600_000, 15_000, 'whole request including body'),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Int(100, 600_000, 5000),
  HTTP_IDLE_TIMEOUT_MS: Int(100, 600_000, 30_000, 'socket inactivity'),
  SHUTDOWN_TIMEOUT_MS: Int(100, 600_000, 10_000, 'grace for in-flight requests on SIGTERM'),
  PROBLEM_TYPE_BASE: Type.String({ minLength: 1, default: '/problems/' })
}, { additionalProperties: false })

export type ConfigValues = Static<typeof ConfigSchema>
export type TrustProxy = boolean | number | string[]

export interface Config extends ConfigValues {
  mode: 'demo' | 'production'
  host: string
  trustProxy: TrustProxy
  sessionCookieSecure: boolean
  /** GATEWAY_SECRET, or in demo mode a random one for this process. */
  secret: string
  limits: Limits
  allowList: CidrList
  denyList: CidrList
  /** OTP_PROVIDERS, checked per type; in demo mode without it, the demo providers. */
  otpProviders: ProviderConfig[]
  /** MAINTENANCE_FROM/UNTIL/MESSAGE_*: a window from the configuration, or null. */
  maintenance: MaintenanceWindow | null
  /** Demo mode runs the shipped rules in shadow, so that curl and scripts work while rules are watched. */
  rulesShadowOnly: boolean
  /** REDIS_URL, REDIS_SENTINELS + REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES; null without Redis. */
  redis: RedisTopology | null
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, allowUnionTypes: true })
const validate = ajv.compile<ConfigValues>(ConfigSchema)
const KEYS = Object.keys(ConfigSchema.properties)

/**
 * Builds the configuration from plain data (no I/O): `file` is the parsed CONFIG_FILE, `env`
 * the environment. Throws a ConfigError naming every bad key, its value and what is allowed.
 */
export function loadConfig (env: Record<string, string | undefined>, file: Record<string, unknown> = {}): Config {
  const fromEnv: Record<string, unknown> = {}
  // Empty strings count as unset: compose files and shells pass `KEY=` for "no value".
  for (const key of KEYS) if (env[key] !== undefined && env[key] !== '') fromEnv[key] = env[key]
  const jsonProblems: string[] = []
  for (const key of ['LIMITS', 'OTP_PROVIDERS']) {
    if (typeof fromEnv[key] === 'string') fromEnv[key] = parseJson(key, fromEnv[key], jsonProblems)
  }
  const given: Record<string, unknown> = { ...file, ...fromEnv }
  const data = { ...given } // ajv coerces and fills defaults in place; messages quote what was given
  const valid = validate(data)
  const problems = valid ? [] : describeErrors(validate.errors ?? [], given)
  problems.push(...jsonProblems)
  const trustProxy = parseTrustProxy(typeof given.TRUST_PROXY === 'string' ? given.TRUST_PROXY : '', problems)
  const allow = parseCidrs('ALLOW_CIDRS', given.ALLOW_CIDRS, problems)
  const deny = parseCidrs('DENY_CIDRS', given.DENY_CIDRS, problems)
  if (!valid || problems.length > 0) throw new ConfigError(problems)

  const mode = data.AUTH_BACKEND_URL === undefined ? 'demo' : 'production'
  const redis = redisTopology(data, problems)
  if (mode === 'production' && redis === null) {
    problems.push('REDIS_URL is missing: production mode (AUTH_BACKEND_URL is set) needs Redis for sessions (or REDIS_SENTINELS with REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES)')
  }
  if (mode === 'production' && data.GATEWAY_SECRET === undefined) {
    problems.push('GATEWAY_SECRET is missing: production mode needs one secret of at least 32 characters, the same on every replica (e.g. openssl rand -base64 48)')
  }
  if (data.HTTP_HEADERS_TIMEOUT_MS > data.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(`HTTP_HEADERS_TIMEOUT_MS=${data.HTTP_HEADERS_TIMEOUT_MS} must not exceed HTTP_REQUEST_TIMEOUT_MS=${data.HTTP_REQUEST_TIMEOUT_MS}`)
  }
  const otpProviders = parseProviders(data.OTP_PROVIDERS, mode, problems)
  const maintenance = configuredMaintenance(data, problems)
  const captcha = [data.CAPTCHA_VERIFY_URL, data.CAPTCHA_SECRET, data.CAPTCHA_SITE_KEY].filter(v => v !== undefined).length
  if (captcha !== 0 && captcha !== 3) problems.push('CAPTCHA_VERIFY_URL, CAPTCHA_SECRET and CAPTCHA_SITE_KEY go together: set all three or none')
  if (data.ADMIN_PORT !== undefined && data.ADMIN_TOKEN === undefined) problems.push('ADMIN_PORT is set without ADMIN_TOKEN: the admin API is off without a token')
  if (data.SESSION_COOKIE_SAMESITE === 'none' && data.SESSION_COOKIE_SECURE !== true) {
    problems.push('SESSION_COOKIE_SAMESITE=none needs SESSION_COOKIE_SECURE=true: browsers drop SameSite=None cookies that are not Secure')
  }
  if (data.SESSION_IDLE_TIMEOUT_S > data.SESSION_ABSOLUTE_TIMEOUT_S) {
    problems.push(`SESSION_IDLE_TIMEOUT_S=${data.SESSION_IDLE_TIMEOUT_S} must not exceed SESSION_ABSOLUTE_TIMEOUT_S=${data.SESSION_ABSOLUTE_TIMEOUT_S}`)
  }
  if (problems.length > 0) throw new ConfigError(problems)

  return {
    ...data,
    mode,
    host: data.HOST ?? (mode === 'demo' ? '127.0.0.1' : '0.0.0.0'),
    trustProxy,
    sessionCookieSecure: data.SESSION_COOKIE_SECURE ?? mode === 'production',
    secret: data.GATEWAY_SECRET ?? randomBytes(32).toString('base64url'),
    limits: mergeLimits(data.LIMITS ?? {}),
    allowList: allow,
    denyList: deny,
    otpProviders,
    maintenance,
    rulesShadowOnly: data.RULES_SHADOW_ONLY ?? (mode === 'demo' && data.RULES_FILE === undefined),
    redis
  }
}

/** One Redis topology at most: a URL, sentinels with their master's name, or cluster seed nodes. */
function redisTopology (data: ConfigValues, problems: string[]): RedisTopology | null {
  const given = [data.REDIS_URL && 'REDIS_URL', data.REDIS_SENTINELS && 'REDIS_SENTINELS', data.REDIS_CLUSTER_NODES && 'REDIS_CLUSTER_NODES'].filter(Boolean)
  if (given.length > 1) problems.push(`${given.join(' and ')} are both set: choose one Redis topology`)
  const password = data.REDIS_PASSWORD ? { password: data.REDIS_PASSWORD } : {}
  if (data.REDIS_URL !== undefined) return { kind: 'single', url: data.REDIS_URL }
  if (data.REDIS_SENTINELS !== undefined) {
    const sentinels = parseHostPorts(data.REDIS_SENTINELS)
    if (sentinels === undefined) problems.push(`REDIS_SENTINELS=${JSON.stringify(data.REDIS_SENTINELS)} is invalid: allowed host:port,host:port`)
    if (data.REDIS_SENTINEL_MASTER === undefined) problems.push('REDIS_SENTINEL_MASTER is missing: the sentinels need the name of the master they watch')
    return { kind: 'sentinel', sentinels: sentinels ?? [], master: data.REDIS_SENTINEL_MASTER ?? '', ...password, ...(data.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: data.REDIS_SENTINEL_PASSWORD } : {}) }
  }
  if (data.REDIS_CLUSTER_NODES !== undefined) {
    const nodes = parseHostPorts(data.REDIS_CLUSTER_NODES)
    if (nodes === undefined) problems.push(`REDIS_CLUSTER_NODES=${JSON.stringify(data.REDIS_CLUSTER_NODES)} is invalid: allowed host:port,host:port`)
    return { kind: 'cluster', nodes: nodes ?? [], ...password }
  }
  if (data.REDIS_SENTINEL_MASTER !== undefined) problems.push('REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS')
  return null
}

function configuredMaintenance (data: ConfigValues, problems: string[]): MaintenanceWindow | null {
  if (data.MAINTENANCE_UNTIL === undefined) {
    if (data.MAINTENANCE_FROM !== undefined) problems.push('MAINTENANCE_FROM is set without MAINTENANCE_UNTIL')
    return null
  }
  const until = Date.parse(data.MAINTENANCE_UNTIL)
  const from = data.MAINTENANCE_FROM === undefined ? undefined : Date.parse(data.MAINTENANCE_FROM)
  if (from !== undefined && !(from < until)) problems.push(`MAINTENANCE_FROM=${data.MAINTENANCE_FROM} must be before MAINTENANCE_UNTIL=${data.MAINTENANCE_UNTIL}`)
  const message = {
    ...(data.MAINTENANCE_MESSAGE_EN ? { en: data.MAINTENANCE_MESSAGE_EN } : {}),
    ...(data.MAINTENANCE_MESSAGE_ZH ? { 'zh-CN': data.MAINTENANCE_MESSAGE_ZH } : {})
  }
  return { until, ...(from === undefined ? {} : { from }), ...(Object.keys(message).length > 0 ? { message } : {}) }
}

function mergeLimits (overrides: Partial<Record<LimitName, Partial<Limits[LimitName]>>>): Limits {
  const merged = { ...DEFAULT_LIMITS }
  for (const name of LIMIT_NAMES) merged[name] = { ...DEFAULT_LIMITS[name], ...overrides[name] }
  return merged
}

function parseJson (key: string, value: string, problems: string[]): unknown {
  try {
    return JSON.parse(value)
  } catch (err) {
    problems.push(`${key} is not valid JSON: ${(err as Error).message}`)
    return undefined
  }
}

function parseCidrs (key: string, value: unknown, problems: string[]): CidrList {
  const { list, bad } = parseCidrList(typeof value === 'string' ? value : '')
  if (bad.length > 0) problems.push(`${key}=${JSON.stringify(value)} is invalid: ${bad.join(', ')} is not an IP or CIDR`)
  return list
}

const SECRET_KEYS = new Set(['ADMIN_TOKEN', 'GATEWAY_SECRET', 'OTP_PROVIDERS', 'CAPTCHA_SECRET', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD'])

/** What an error message may show of a value: never a secret, never a Redis password. */
function shown (key: string, value: unknown): string {
  if (SECRET_KEYS.has(key)) return '"[redacted]"'
  const text = JSON.stringify(value)
  return key === 'REDIS_URL' ? text.replace(/\/\/[^@/]*@/, '//[redacted]@') : text
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** TRUST_PROXY: off by default; `true` trusts every peer, so only use it behind proxies you own. */
export function parseTrustProxy (value: string, problems: string[]): TrustProxy {
  const v = value.trim()
  if (v === '' || v === 'false') return false
  if (v === 'true') return true
  if (/^\d+$/.test(v)) return Number(v)
  const entries = v.split(',').map(s => s.trim()).filter(Boolean)
  const bad = entries.filter(e => !PROXY_NAMES.has(e) && !isAddressOrCidr(e))
  if (bad.length > 0) {
    problems.push(`TRUST_PROXY=${JSON.stringify(value)} is invalid: ${bad.join(', ')} is not an IP, a CIDR or one of loopback, linklocal, uniquelocal (allowed: true, false, a hop count, or a comma-separated list of those)`)
  }
  return entries
}

/**
 * A hop count trusts the N nearest peers whatever their address: only sound where the gateway
 * is reachable through those proxies alone. Fastify itself refuses hop counts; CIDRs are safer.
 */
export function trustHops (hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops
}

function isAddressOrCidr (entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  const bits = Number(prefix)
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128)
}

/** One line per bad key: a union's failed branches would otherwise each add a line. */
function describeErrors (errors: ErrorObject[], data: Record<string, unknown>): string[] {
  return [...new Set(errors.map(e => describeError(e, data)))]
}

function describeError (e: ErrorObject, data: Record<string, unknown>): string {
  if (e.keyword === 'required') return `${String(e.params.missingProperty)} is required`
  if (e.keyword === 'additionalProperties') {
    return `unknown key ${String(e.params.additionalProperty)} in the config file (allowed keys: ${KEYS.join(', ')})`
  }
  const key = e.instancePath.split('/')[1] ?? ''
  const schema = (ConfigSchema.properties as Record<string, TSchema>)[key]
  return `${key}=${shown(key, data[key])} is invalid: allowed ${schema ? describeAllowed(schema) : e.message ?? ''}`
}

export function describeAllowed (schema: TSchema): string {
  if (Array.isArray(schema.anyOf)) return `one of ${(schema.anyOf as TSchema[]).map(s => String(s.const)).join(', ')}`
  if (schema.type === 'integer') return `an integer from ${schema.minimum} to ${schema.maximum}`
  if (schema.type === 'boolean') return 'true or false'
  if (schema.pattern === ISO_TIME) return 'an ISO 8601 time such as 2026-11-22T10:00:00Z'
  if (typeof schema.pattern === 'string') return `a string matching /${schema.pattern}/`
  if (typeof schema.minLength === 'number') return `a string of at least ${schema.minLength} characters`
  return 'a string'
}
