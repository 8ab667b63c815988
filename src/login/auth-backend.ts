// The auth backend edge: HTTP in, a plain union out. Outages (timeouts, connection errors, 5xx,
// garbage) throw and count against the breaker; any 4xx is a wrong credential and never does.
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { type Logger } from 'pino'
import { Pool } from 'undici'
import { GatewayError } from '../errors.js'
import { type BreakerState, type Metrics } from '../infra/metrics.js'
import { type Breaker, type BreakerSettings, createBreaker, isBreakerRejection } from '../resilience/breaker.js'
import { createBulkhead } from '../resilience/bulkhead.js'
import { createRetryBudget } from '../resilience/retry-budget.js'
import { jitteredRetryAfter } from '../admission/readmission.js'

export interface Credentials {
  username: string
  password: string
}

export interface BackendUser {
  userId: string
  /** Present: the user must prove a second factor, at these destinations. */
  mfa?: { phone?: string, email?: string }
  /** Optional: where a code may go when an abuse rule asks for a step-up anyway. */
  contacts?: { phone?: string, email?: string }
}

export type VerifyResult =
  | { kind: 'ok', user: BackendUser }
  | { kind: 'invalid_credentials' }

export interface AuthBackend {
  /** Checks credentials; throws GatewayError `auth_unavailable` or `overloaded` when it cannot tell. */
  verify: (credentials: Credentials) => Promise<VerifyResult>
  /** Throws `auth_unavailable` at once while the breaker is open: no point counting the attempt. */
  assertAvailable: () => void
  /** State of the breaker in front of the backend. */
  breakerState: () => BreakerState
  /** Called when the breaker changes state (e.g. closes after an outage). */
  onBreakerChange: (listener: (state: BreakerState) => void) => void
  close: () => Promise<void>
}

export interface HttpAuthBackendOptions {
  url: string
  timeoutMs: number
  maxConcurrent: number
  /** Share (0..1) of traffic that may be retried after a connection failure; 0: never retry. */
  retryRatio: number
  breaker: Omit<BreakerSettings, 'timeoutMs'>
  /** Shares the breaker's state with other replicas (opt-in); returns how to stop. */
  share?: (breaker: Breaker<never[], unknown>) => { close: () => void }
  log: Logger
  metrics: Metrics
}

const Destinations = Type.Object({
  phone: Type.Optional(Type.String({ minLength: 3, maxLength: 32 })),
  email: Type.Optional(Type.String({ minLength: 3, maxLength: 254 }))
})
const VerifyAnswer = TypeCompiler.Compile(Type.Object({
  userId: Type.String({ minLength: 1, maxLength: 256 }),
  mfa: Type.Optional(Destinations),
  contacts: Type.Optional(Destinations)
}))

/** The backend could not answer: this is what the breaker counts. */
export class UpstreamFailure extends Error {
  constructor (readonly reason: 'timeout' | 'connection' | 'status' | 'malformed', message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'UpstreamFailure'
  }
}

/** The backend asked for time (408, 429): not an outage, so no failure, but it never closes a half-open breaker either. */
export class BackendBusy extends Error {
  constructor (readonly statusCode: number, readonly retryAfterSeconds: number) {
    super(`auth backend answered ${statusCode}`)
    this.name = 'BackendBusy'
  }
}

// Retry-After for a single failed call while the breaker is still closed.
const RETRY_AFTER_FAILED_CALL_S = 2
// How backends say no to a username and password; any other 4xx is unexpected.
const REFUSALS = new Set([401, 403, 404])

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])
const isTimeout = (err: unknown): boolean => TIMEOUT_CODES.has((err as { code?: string }).code ?? '')

function retryAfterOf (header: string | string[] | undefined): number {
  const seconds = Number(Array.isArray(header) ? header[0] : header)
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 3600) : RETRY_AFTER_FAILED_CALL_S
}

export function createHttpAuthBackend (opts: HttpAuthBackendOptions): AuthBackend {
  const base = new URL(opts.url)
  const verifyPath = `${base.pathname.replace(/\/$/, '')}/verify`
  // One connection per call the bulkhead admits: a call never waits in undici's queue, where
  // its deadline would run out and a busy but healthy backend would look like a failing one.
  // The pool's own timeouts are the deadlines (connect, then headers, then each body chunk): an
  // AbortSignal per call would cost about 0.1 ms of CPU per login (undici's abort listeners).
  const pool = new Pool(base.origin, {
    connections: opts.maxConcurrent,
    connectTimeout: opts.timeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs
  })

  const retries = createRetryBudget(opts.retryRatio)

  // A connection failure (a keep-alive socket the backend had closed, a refused connect) is
  // retried once, within the retry budget; timeouts and 5xx never are: they mean "struggling".
  async function verifyWithRetry (credentials: Credentials): Promise<VerifyResult> {
    retries.deposit()
    try {
      return await requestVerify(credentials)
    } catch (err) {
      if (!(err instanceof UpstreamFailure) || err.reason !== 'connection') throw err
      const allowed = retries.tryWithdraw()
      opts.metrics.backendRetries.inc({ outcome: allowed ? 'retried' : 'over_budget' })
      if (!allowed) throw err
      return await requestVerify(credentials)
    }
  }

  async function callVerify (credentials: Credentials): Promise<VerifyResult> {
    const stop = opts.metrics.backendDuration.startTimer()
    let outcome = 'failure'
    try {
      const result = await verifyWithRetry(credentials)
      outcome = result.kind
      return result
    } catch (err) {
      if (err instanceof UpstreamFailure) outcome = err.reason
      throw err
    } finally {
      stop({ outcome })
    }
  }

  async function requestVerify (credentials: Credentials): Promise<VerifyResult> {
    let res
    try {
      res = await pool.request({
        path: verifyPath,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: credentials.username, password: credentials.password })
      })
    } catch (err) {
      const timedOut = isTimeout(err)
      throw new UpstreamFailure(timedOut ? 'timeout' : 'connection', `auth backend ${timedOut ? 'timed out' : 'unreachable'}`, { cause: err })
    }
    if (res.statusCode === 408 || res.statusCode === 429) {
      await res.body.dump()
      throw new BackendBusy(res.statusCode, retryAfterOf(res.headers['retry-after']))
    }
    if (res.statusCode >= 400 && res.statusCode < 500) {
      await res.body.dump()
      if (!REFUSALS.has(res.statusCode)) {
        // Said as "wrong credentials" so nothing tells users apart; counted so operators see it.
        opts.metrics.backendUnexpectedStatus.inc({ status: res.statusCode })
        opts.log.warn({ status: res.statusCode }, 'auth backend answered an unexpected 4xx; treated as invalid credentials')
      }
      return { kind: 'invalid_credentials' }
    }
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new UpstreamFailure('status', `auth backend answered ${res.statusCode}`)
    }
    let answer: unknown
    try {
      answer = await res.body.json()
    } catch (err) {
      throw new UpstreamFailure(isTimeout(err) ? 'timeout' : 'malformed', 'auth backend answer unreadable', { cause: err })
    }
    if (!VerifyAnswer.Check(answer)) throw new UpstreamFailure('malformed', 'auth backend answer does not match the contract')
    return { kind: 'ok', user: answer }
  }

  // Spread over the few seconds after the probe: every client told the same second would arrive as one.
  const openRetryAfter = () => Math.ceil(breaker.msUntilProbe() / 1000) + Math.floor(Math.random() * 3)
  const breaker = createBreaker('auth_backend', callVerify, { ...opts.breaker, timeoutMs: 2 * opts.timeoutMs + 1000 }, opts) // a retry may follow a failed attempt
  const bulkhead = createBulkhead(opts.maxConcurrent)
  const sharing = opts.share?.(breaker as unknown as Breaker<never[], unknown>)

  return {
    async verify (credentials) {
      const call = bulkhead.tryRun(() => breaker.fire(credentials))
      if (call === undefined) {
        opts.metrics.bulkheadRejections.inc({ dependency: 'auth_backend' })
        throw new GatewayError('overloaded', { retryAfterSeconds: jitteredRetryAfter(1, Math.random()), logFields: { shed: 'auth_backend_bulkhead' } })
      }
      try {
        return await call
      } catch (err) {
        const retryAfterSeconds = isBreakerRejection(err)
          ? openRetryAfter()
          : err instanceof BackendBusy ? err.retryAfterSeconds : RETRY_AFTER_FAILED_CALL_S
        throw new GatewayError('auth_unavailable', { retryAfterSeconds, cause: err })
      }
    },
    assertAvailable () {
      if (breaker.state() === 'open') throw new GatewayError('auth_unavailable', { retryAfterSeconds: openRetryAfter() })
    },
    breakerState: breaker.state,
    onBreakerChange: breaker.onStateChange,
    async close () {
      sharing?.close()
      breaker.shutdown()
      await pool.close()
    }
  }
}
