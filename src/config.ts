// One typed, validated configuration: defaults < config file < environment. The schema is the
// type, and the only place a key, its default and its allowed values are written down.
import { isIP } from 'node:net'
import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { Ajv, type ErrorObject } from 'ajv'

const Int = (min: number, max: number, def?: number, description?: string) =>
  Type.Integer({ minimum: min, maximum: max, ...(def === undefined ? {} : { default: def }), description })

export const ConfigSchema = Type.Object({
  PORT: Int(0, 65535, 8080),
  HOST: Type.Optional(Type.String({ minLength: 1, description: 'default 127.0.0.1 in demo mode, 0.0.0.0 in production' })),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info' }),

  AUTH_BACKEND_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'set = production mode' })),
  AUTH_BACKEND_TIMEOUT_MS: Int(50, 60_000, 2000),
  AUTH_BACKEND_CONNECTIONS: Int(1, 4096, 64, 'keep-alive connections in the pool'),
  AUTH_BACKEND_MAX_CONCURRENT: Int(1, 100_000, 256, 'bulkhead: concurrent backend calls; more answer 503 overloaded'),
  BREAKER_ERROR_THRESHOLD_PERCENT: Int(1, 100, 50),
  BREAKER_VOLUME_THRESHOLD: Int(1, 100_000, 20, 'calls in the window before the breaker may open'),
  BREAKER_RESET_TIMEOUT_MS: Int(50, 600_000, 10_000, 'open time before a half-open probe'),
  BREAKER_WINDOW_MS: Int(100, 600_000, 10_000, 'rolling window of the error rate'),

  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$' })),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9:_.-]{1,32}$', default: 'lg:' }),
  REDIS_COMMAND_TIMEOUT_MS: Int(10, 10_000, 100, 'a Redis call fails after this long'),
  REDIS_CONNECT_TIMEOUT_MS: Int(50, 60_000, 1000),

  TRUST_PROXY: Type.String({ default: '', description: 'off; true; a hop count; or comma-separated IPs/CIDRs of trusted proxies' }),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 24, description: 'enables /admin; at least 24 characters' })),

  SESSION_IDLE_TIMEOUT_S: Int(10, 30 * 86_400, 900, 'OWASP Session Management: 15-30 min idle'),
  SESSION_ABSOLUTE_TIMEOUT_S: Int(60, 365 * 86_400, 28_800, 'OWASP Session Management: 4-8 h absolute'),
  SESSION_MAX_PER_USER: Int(1, 1000, 5, 'oldest sessions are evicted past this'),
  SESSION_COOKIE_SECURE: Type.Optional(Type.Boolean({ description: 'default true in production, false in demo mode' })),
  SESSION_COOKIE_SAMESITE: Type.Union([Type.Literal('strict'), Type.Literal('lax'), Type.Literal('none')], { default: 'lax' }),

  OTP_CHALLENGE_TTL_S: Int(30, 3600, 300, 'a second-factor challenge expires after this'),

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
  const given: Record<string, unknown> = { ...file, ...fromEnv }
  const data = { ...given } // ajv coerces and fills defaults in place; messages quote what was given
  const valid = validate(data)
  const problems = valid ? [] : describeErrors(validate.errors ?? [], given)
  const trustProxy = parseTrustProxy(typeof given.TRUST_PROXY === 'string' ? given.TRUST_PROXY : '', problems)
  if (!valid) throw new ConfigError(problems)

  const mode = data.AUTH_BACKEND_URL === undefined ? 'demo' : 'production'
  if (mode === 'production' && data.REDIS_URL === undefined) {
    problems.push('REDIS_URL is missing: production mode (AUTH_BACKEND_URL is set) needs Redis for sessions')
  }
  if (data.HTTP_HEADERS_TIMEOUT_MS > data.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(`HTTP_HEADERS_TIMEOUT_MS=${data.HTTP_HEADERS_TIMEOUT_MS} must not exceed HTTP_REQUEST_TIMEOUT_MS=${data.HTTP_REQUEST_TIMEOUT_MS}`)
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
    sessionCookieSecure: data.SESSION_COOKIE_SECURE ?? mode === 'production'
  }
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
  return `${key}=${JSON.stringify(data[key])} is invalid: allowed ${schema ? describeAllowed(schema) : e.message ?? ''}`
}

export function describeAllowed (schema: TSchema): string {
  if (Array.isArray(schema.anyOf)) return `one of ${(schema.anyOf as TSchema[]).map(s => String(s.const)).join(', ')}`
  if (schema.type === 'integer') return `an integer from ${schema.minimum} to ${schema.maximum}`
  if (schema.type === 'boolean') return 'true or false'
  if (typeof schema.pattern === 'string') return `a string matching /${schema.pattern}/`
  if (typeof schema.minLength === 'number') return `a string of at least ${schema.minLength} characters`
  return 'a string'
}
