// The environment the bench starts its gateway with: production mode on the bench's own Redis,
// mock backend and mock OTP providers. Every value that differs from the gateway's default is
// listed with its reason, and the report prints them, so a figure is never read without them.
import { randomBytes } from 'node:crypto'

export interface GatewayWiring {
  backendUrl: string
  redisUrl: string
  providersJson: string
}

export const OVERRIDE_REASONS: Record<string, string> = {
  LOG_LEVEL: 'warn: one info line per request costs the gateway CPU the bench would then measure',
  TRUST_PROXY: 'true: the bench is the only peer and varies client addresses with X-Forwarded-For',
  LIMITS: 'global_attempts 100000/s: the global cap is "what the backend can take" and the mock takes anything; left at 1000/s it, not the gateway, would be measured',
  BREAKER_RESET_TIMEOUT_MS: '3000 (default 10000): a bad day compressed into seconds; recovery times scale with it',
  OTP_BREAKER_RESET_TIMEOUT_MS: '5000 (default 30000): so a recovered primary SMS provider is probed again within a run',
  OTP_SENDS_PER_COUNTRY_PER_HOUR: '100000 (default 1000): every honest phone is +86; a nationwide lender sends far more than 1000 codes an hour to one country at peak',
  READMISSION_DURATION_S: '10 (default 60): the re-admission ramp fits inside a 20 s run',
  CHALLENGE_POW_DIFFICULTY: '8 (default 16): honest users solve challenges as browsers do, on the load generator\'s CPU; at 16 bits the solving, not the gateway, would be measured',
  SHUTDOWN_TIMEOUT_MS: '3000: the bench stops the gateway with SIGTERM and does not wait 10 s',
  REDIS_KEY_PREFIX: 'bench: on the bench\'s own empty redis-server'
}

export function benchGatewayEnv (w: GatewayWiring, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AUTH_BACKEND_URL: w.backendUrl,
    REDIS_URL: w.redisUrl,
    OTP_PROVIDERS: w.providersJson,
    GATEWAY_SECRET: randomBytes(36).toString('base64url'),
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    LOG_LEVEL: 'warn',
    TRUST_PROXY: 'true',
    LIMITS: JSON.stringify({ global_attempts: { points: 100_000 } }),
    BREAKER_RESET_TIMEOUT_MS: '3000',
    OTP_BREAKER_RESET_TIMEOUT_MS: '5000',
    OTP_SENDS_PER_COUNTRY_PER_HOUR: '100000',
    READMISSION_DURATION_S: '10',
    CHALLENGE_POW_DIFFICULTY: '8',
    SHUTDOWN_TIMEOUT_MS: '3000',
    REDIS_KEY_PREFIX: 'bench:',
    ...overrides
  }
}

const SECRET = new Set(['GATEWAY_SECRET', 'ADMIN_TOKEN'])

/** The environment as the report shows it: secrets replaced, nothing else hidden. */
export function shownEnv (env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, SECRET.has(k) ? '[redacted]' : v]))
}
