// pino, with every secret a login carries redacted: logs must never hold passwords, OTP codes,
// session tokens, cookies or full phone numbers.
import { randomUUID } from 'node:crypto'
import { type IncomingMessage } from 'node:http'
import pino, { type BaseLogger, type Bindings, type ChildLoggerOptions, type DestinationStream, type Level, type Logger, type LoggerOptions } from 'pino'

/** What code that logs on behalf of a request needs: Fastify's request logger fits. */
export type RequestLog = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'password', '*.password',
  'otp', '*.otp',
  'token', '*.token',
  'phone', '*.phone',
  'body', '*.body'
]

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'login-gateway' }
  }
}

export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino(loggerOptions(level), destination)
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,64}$/

/** Keeps a caller's x-request-id when it is safe to echo and log; otherwise makes one. */
export function requestIdFor (req: IncomingMessage): string {
  const incoming = req.headers['x-request-id']
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
}

type LogMethod = (...args: unknown[]) => void
const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace']

/**
 * A request's logger, made only when it first writes a line: pino's child() costs a
 * serialisation and allocations on every request, and at `warn` nearly no request logs at all.
 * The line, once written, is the child's as before (its request id included).
 */
class LazyChild {
  private made: Logger | undefined
  constructor (private readonly parent: Logger, private readonly bindings: Bindings, private readonly options: ChildLoggerOptions) {}
  get level (): string { return this.made?.level ?? this.parent.level }
  set level (level: string) { this.real().level = level }
  real (): Logger { return (this.made ??= this.parent.child(this.bindings, this.options)) }
  child (bindings: Bindings, options?: ChildLoggerOptions): Logger { return this.real().child(bindings, options) }
  isLevelEnabled (level: string): boolean { return this.made?.isLevelEnabled(level) ?? this.parent.isLevelEnabled(level) }
  silent (): void {}
}
interface LazyChild extends Record<Level, LogMethod> {}
for (const level of LEVELS) {
  (LazyChild.prototype as unknown as Record<Level, LogMethod>)[level] = function (this: LazyChild, ...args: unknown[]) {
    if (!this.isLevelEnabled(level)) return
    ;(this.real()[level] as LogMethod)(...args)
  }
}

/** Fastify's childLoggerFactory: a route with a level of its own gets its child at once. */
export function lazyChildLogger (this: unknown, parent: Logger, bindings: Bindings, options: ChildLoggerOptions): Logger {
  if (options.level !== undefined) return parent.child(bindings, options)
  return new LazyChild(parent, bindings, options) as unknown as Logger
}
