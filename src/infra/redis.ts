// The Redis client, tuned to fail fast: a login must never wait on a dead or frozen Redis.
// One node, Sentinel (the client follows the master through failovers) or Cluster, by
// configuration alone; every key is namespaced and hash-tagged where a script spans keys.
import { Cluster, type Redis, type RedisOptions } from 'ioredis'
import { type Logger } from 'pino'
import { DeadlineRedis } from './redis-deadline.js'

export type RedisClient = Redis | Cluster

export interface HostPort {
  host: string
  port: number
}

export type RedisTopology =
  | { kind: 'single', url: string }
  | { kind: 'sentinel', sentinels: HostPort[], master: string, password?: string, sentinelPassword?: string }
  | { kind: 'cluster', nodes: HostPort[], password?: string }

export interface RedisSettings {
  topology: RedisTopology
  commandTimeoutMs: number
  connectTimeoutMs: number
}

const reconnect = (attempt: number) => Math.min(50 * 2 ** attempt, 2000) // forever, backing off

// A frozen server (SIGSTOP, CLIENT PAUSE) never answers, so every command has a deadline: on one
// node and Sentinel one of our own that a stalled event loop cannot fake (redis-deadline.ts), on
// a Cluster ioredis's `commandTimeout` on every node connection.
function redisOptions (s: Pick<RedisSettings, 'connectTimeoutMs'>): RedisOptions {
  return {
    // RESP2: rate-limiter-flexible is tested on it; ioredis 5 speaks it by default.
    connectTimeout: s.connectTimeoutMs,
    enableOfflineQueue: false, // while disconnected, fail at once instead of queueing logins
    maxRetriesPerRequest: 0, // commands in flight when the socket drops fail instead of waiting
    autoResendUnfulfilledCommands: false, // ...and are never replayed, so nothing counts twice
    retryStrategy: reconnect,
    // Off on one node and Sentinel: the scripts a login stage calls in one tick go as one EVALSHA
    // already (redis-script.ts), and commands are written without waiting for earlier replies
    // anyway; the auto-pipeline around that one command cost a tenth of the gateway's CPU per
    // login (inclusive of the socket write, which remains; bench/RESULTS.md). On a Cluster,
    // where every script is a command of its own, it stays on.
    enableAutoPipelining: false
  }
}

// Clients closed on purpose: the only ones allowed to stay ended.
const closing = new WeakSet<RedisClient>()
const RESTART_AFTER_END_MS = 1000

/** Closes a client made by createRedis for good (it would otherwise start again after an end). */
export async function closeRedis (redis: RedisClient): Promise<void> {
  closing.add(redis)
  await redis.quit().catch(() => { redis.disconnect() })
}

export function createRedis (s: RedisSettings, log: Logger): RedisClient {
  const redis = connect(s)
  // ioredis gives up for good ("end") when a connection attempt fails in a way its retry
  // strategy does not see (a connector that is called off while it retries). The gateway must
  // never stop trying: only closeRedis ends a client.
  redis.on('end', () => {
    if (closing.has(redis)) return
    log.warn('redis client ended unexpectedly; connecting again')
    setTimeout(() => { if (!closing.has(redis) && redis.status === 'end') redis.connect().catch(() => undefined) }, RESTART_AFTER_END_MS)
  })
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

function connect (s: RedisSettings): RedisClient {
  const t = s.topology
  const options = redisOptions(s)
  switch (t.kind) {
    case 'single':
      return new DeadlineRedis(s.commandTimeoutMs, t.url, options)
    case 'sentinel':
      return new DeadlineRedis(s.commandTimeoutMs, {
        ...options,
        sentinels: t.sentinels,
        name: t.master,
        ...(t.password ? { password: t.password } : {}),
        ...(t.sentinelPassword ? { sentinelPassword: t.sentinelPassword } : {}),
        sentinelRetryStrategy: reconnect,
        sentinelCommandTimeout: s.connectTimeoutMs
        // No failoverDetector: its +switch-master can call off a reconnection in progress, and
        // ioredis then ends the client for good (a third of the failover test's full-suite runs).
        // A dead master's sockets close, and a reconfigured one disconnects its clients, so the
        // client asks the sentinels again by itself.
      })
    case 'cluster': {
      const { retryStrategy: _perNode, enableOfflineQueue: _offline, enableAutoPipelining: _pipelining, ...nodeOptions } = options
      return new Cluster(t.nodes, {
        redisOptions: { ...nodeOptions, commandTimeout: s.commandTimeoutMs, ...(t.password ? { password: t.password } : {}) },
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: reconnect,
        // During a failover, MOVED/CLUSTERDOWN are retried briefly; the command timeout still bounds it.
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        slotsRefreshTimeout: s.connectTimeoutMs
      })
    }
  }
}

/** Resolves once the client is ready, or rejects after `timeoutMs`. */
export async function waitForRedis (redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`redis not ready after ${timeoutMs} ms`)) }, timeoutMs)
    const onReady = () => { cleanup(); resolve() }
    const cleanup = () => { clearTimeout(timer); redis.off('ready', onReady) }
    redis.on('ready', onReady)
  })
}

/** Parses `host:port,host:port` (IPv6 hosts in brackets). */
export function parseHostPorts (value: string): HostPort[] | undefined {
  const out: HostPort[] = []
  for (const entry of value.split(',').map(e => e.trim()).filter(Boolean)) {
    const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(entry)
    const port = Number(match?.[2])
    if (!match?.[1] || !(port > 0 && port < 65536)) return undefined
    out.push({ host: match[1], port })
  }
  return out.length > 0 ? out : undefined
}
