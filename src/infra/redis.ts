// The Redis client, tuned to fail fast: a login must never wait on a dead or frozen Redis.
import { Redis, type RedisOptions } from 'ioredis'
import { type Logger } from 'pino'

export interface RedisSettings {
  url: string
  commandTimeoutMs: number
  connectTimeoutMs: number
}

export function redisOptions (s: Pick<RedisSettings, 'commandTimeoutMs' | 'connectTimeoutMs'>): RedisOptions {
  return {
    // RESP2: rate-limiter-flexible is tested on it; ioredis 5 speaks it by default.
    commandTimeout: s.commandTimeoutMs, // a frozen server (SIGSTOP, CLIENT PAUSE) never answers
    connectTimeout: s.connectTimeoutMs,
    enableOfflineQueue: false, // while disconnected, fail at once instead of queueing logins
    maxRetriesPerRequest: 0, // commands in flight when the socket drops fail instead of waiting
    autoResendUnfulfilledCommands: false, // ...and are never replayed, so nothing counts twice
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000), // reconnect forever
    enableAutoPipelining: true // concurrent commands of one request share a round trip
  }
}

export function createRedis (s: RedisSettings, log: Logger): Redis {
  const redis = new Redis(s.url, redisOptions(s))
  let healthy = true
  redis.on('ready', () => {
    if (!healthy) log.info('redis connection restored')
    healthy = true
  })
  redis.on('error', (err: Error) => {
    if (healthy) log.warn({ err: { message: err.message } }, 'redis connection failed')
    healthy = false
  })
  return redis
}

/** Resolves once the client is ready, or rejects after `timeoutMs`. */
export async function waitForRedis (redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`redis not ready after ${timeoutMs} ms`)) }, timeoutMs)
    const onReady = () => { cleanup(); resolve() }
    const cleanup = () => { clearTimeout(timer); redis.off('ready', onReady) }
    redis.on('ready', onReady)
  })
}
