import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import { type FastifyInstance } from 'fastify'
import pino from 'pino'
import { inject, onTestFinished } from 'vitest'
import { buildApp, type AppDeps } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { loggerOptions } from '../../src/infra/logger.js'

/** Loose limits and short windows: each test tightens what it exercises. */
export const TEST_ENV: Record<string, string> = {
  LOG_LEVEL: 'silent',
  BREAKER_VOLUME_THRESHOLD: '5',
  BREAKER_RESET_TIMEOUT_MS: '200',
  BREAKER_WINDOW_MS: '10000',
  AUTH_BACKEND_TIMEOUT_MS: '500',
  // Shedding and ramps are off unless a test is about them: they would make other tests flaky.
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  RULES_FILE: fileURLToPath(new URL('../fixtures/no-rules.yaml', import.meta.url)),
  READMISSION_DURATION_S: '0',
  GATEWAY_SECRET: 'test-secret-0123456789abcdefghijklmnop',
  // Loose enough for tests that are not about limits; the limit tests set their own.
  LIMITS: JSON.stringify({ ip_attempts: { points: 10_000 }, subnet_attempts: { points: 10_000 }, ip_failures: { points: 10_000 }, user_ip_failures: { points: 10_000 }, user_failures_short: { points: 10_000 }, user_failures_day: { points: 10_000 }, device_attempts: { points: 10_000 }, device_failures: { points: 10_000 } })
}

export interface TestAppOptions extends Partial<Omit<AppDeps, 'config'>> {
  env?: Record<string, string>
}

/** An app on the run's redis-server, with its own key prefix; closed when the test ends. */
export async function buildTestApp (options: TestAppOptions = {}): Promise<FastifyInstance> {
  const { env, ...deps } = options
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    REDIS_KEY_PREFIX: `t:${randomUUID().slice(0, 8)}:`,
    ...TEST_ENV,
    ...env
  })
  const app = await buildApp({ config, ...deps })
  onTestFinished(() => app.close())
  return app
}

/** A logger whose lines the test can read, to prove what never appears in them. */
export function capturedLogger (level = 'trace') {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, done) { lines.push(...chunk.toString().split('\n').filter(Boolean)); done() }
  })
  return { logger: pino(loggerOptions(level), stream), lines, text: () => lines.join('\n') }
}

export const jsonLogin = (username: string, password: string, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/auth/login',
  headers: { 'content-type': 'application/json', ...headers },
  payload: JSON.stringify({ username, password })
})
