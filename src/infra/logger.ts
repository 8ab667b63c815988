// pino, with every secret a login carries redacted: logs must never hold passwords, OTP codes,
// session tokens, cookies or full phone numbers.
import { randomUUID } from 'node:crypto'
import { type IncomingMessage } from 'node:http'
import pino, { type BaseLogger, type DestinationStream, type Logger, type LoggerOptions } from 'pino'

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
