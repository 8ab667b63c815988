// The system under test. Own mode: the bench starts redis-server, the mock backend (its own
// process), the mock OTP providers (servers in this process) and the gateway in production
// mode (its own process), all on 127.0.0.1. Target mode: a gateway someone else runs.
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { type OtpSinks, startOtpSinks } from '../mocks/otp-sinks.js'
import { benchGatewayEnv, shownEnv } from './gateway-env.js'
import { buildGateway, exportCommit, type GatewayBuild } from './build.js'
import { type BackendControl, type GatewayProcess, ROOT, startBackendProcess, startGatewayProcess, startReferenceProcess } from './processes-node.js'
import { type RedisControl, startRedis } from './redis.js'

export interface Stack {
  mode: 'own' | 'target'
  gatewayUrl: string
  adminToken: string | undefined
  backend: BackendControl | undefined
  sinks: OtpSinks | undefined
  redis: RedisControl | undefined
  gateway: GatewayProcess | undefined
  /** The naive reference gateway, when the scenario asked for it. */
  reference: GatewayProcess | undefined
  /** The gateway's environment as the report shows it (secrets redacted); empty for a target. */
  shownEnv: Record<string, string>
  /** The commit the gateway was exported from (--gateway-commit). */
  commit?: string
  /** Process ids of what the bench started, for CPU accounting. */
  pids: () => Record<string, number | undefined>
  stop: () => Promise<void>
}

export interface OwnStackOptions {
  resultsDir: string
  gatewayEnv: Record<string, string>
  cpuProf: boolean
  /** OTP provider timeout given to the gateway. */
  providerTimeoutMs: number
  gatewayDir?: string
  /** Run this commit's gateway (exported to a temporary directory). */
  gatewayCommit?: string
  /** Run the compiled build (node dist/server.js) instead of src/ through tsx. */
  compiled: boolean
  /** Start the naive reference gateway too. */
  reference: boolean
}

export async function startOwnStack (o: OwnStackOptions): Promise<Stack> {
  const stops: Array<() => Promise<void>> = []
  const stop = async () => {
    // Reverse order: the gateway first, so it never sees its dependencies vanish on shutdown.
    for (const s of stops.reverse().splice(0)) await s().catch(() => {})
  }
  try {
    const redis = await startRedis()
    stops.push(redis.stop)
    const backend = await startBackendProcess(join(o.resultsDir, 'mock-backend.log'))
    stops.push(async () => { await backend.process.stop('SIGTERM', 2000) })
    const sinks = await startOtpSinks()
    stops.push(sinks.close)
    let gatewayDir = o.gatewayDir
    let commit: string | undefined
    if (o.gatewayCommit !== undefined) {
      const log = openSync(join(o.resultsDir, 'gateway.log'), 'a')
      const exported = await exportCommit(ROOT, o.gatewayCommit, log).finally(() => closeSync(log))
      stops.push(exported.remove)
      gatewayDir = exported.dir
      commit = exported.commit
    }
    let build: GatewayBuild | undefined
    if (o.compiled) {
      const log = openSync(join(o.resultsDir, 'gateway.log'), 'a')
      build = await buildGateway(gatewayDir ?? ROOT, log).finally(() => closeSync(log))
      stops.push(build.remove)
    }
    const env = benchGatewayEnv({ backendUrl: backend.url, redisUrl: redis.url, providersJson: sinks.providersJson(o.providerTimeoutMs) }, o.gatewayEnv)
    const gateway = await startGatewayProcess({
      env,
      logPath: join(o.resultsDir, 'gateway.log'),
      ...(o.cpuProf ? { cpuProfDir: o.resultsDir } : {}),
      ...(gatewayDir === undefined ? {} : { root: gatewayDir }),
      ...(build === undefined ? {} : { build })
    })
    // SIGTERM lets the gateway finish and write its CPU profile; its grace is SHUTDOWN_TIMEOUT_MS.
    stops.push(async () => { await gateway.process.stop('SIGTERM', 8000) })
    const reference = o.reference ? await startReferenceProcess({ backendUrl: backend.url, redisUrl: redis.url, logPath: join(o.resultsDir, 'reference.log') }) : undefined
    if (reference !== undefined) stops.push(async () => { await reference.process.stop('SIGTERM', 3000) })
    const pids = () => ({ gateway: gateway.process.child.pid, 'redis-server': redis.pid(), 'mock-backend': backend.process.child.pid, ...(reference ? { reference: reference.process.child.pid } : {}) })
    return { mode: 'own', gatewayUrl: gateway.url, adminToken: env.ADMIN_TOKEN, backend, sinks, redis, gateway, reference, shownEnv: shownEnv(env), pids, commit, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

export function targetStack (url: string, adminToken: string | undefined): Stack {
  return {
    mode: 'target',
    gatewayUrl: url.replace(/\/$/, ''),
    adminToken,
    backend: undefined,
    sinks: undefined,
    redis: undefined,
    gateway: undefined,
    reference: undefined,
    shownEnv: {},
    pids: () => ({}),
    stop: async () => {}
  }
}
