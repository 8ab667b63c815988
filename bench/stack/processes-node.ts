// The bench's Node processes: the mock auth backend and the gateway, each run from TypeScript
// through tsx exactly as `npm start` runs the gateway.
import { openSync, closeSync } from 'node:fs'
import { type BackendFaults, type SecondStats } from '../mocks/auth-backend.js'
import { type GatewayBuild, PRODUCTION_NODE_OPTIONS } from './build.js'
import { freePort, type Managed, spawnManaged, waitFor } from './processes.js'

export const ROOT = new URL('../../', import.meta.url).pathname

const baseEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' })

async function ok (url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
  await res.body?.cancel()
  return res.ok
}

export interface BackendControl {
  url: string
  process: Managed
  setFaults: (faults: Partial<BackendFaults>) => Promise<void>
  stats: () => Promise<{ calls: number, perSecond: SecondStats[] }>
}

export async function startBackendProcess (logPath: string): Promise<BackendControl> {
  const port = await freePort()
  const log = openSync(logPath, 'a')
  const child = spawnManaged('mock-backend', process.execPath, ['--import', 'tsx', 'bench/mocks/auth-backend-main.ts'], {
    cwd: ROOT, env: { ...baseEnv(), PORT: String(port), HOST: '127.0.0.1' }, output: log
  })
  closeSync(log)
  const url = `http://127.0.0.1:${port}`
  await waitFor('mock backend', async () => await ok(`${url}/healthz`), child, 20_000)
  return {
    url,
    process: child,
    async setFaults (faults) {
      const res = await fetch(`${url}/_faults`, { method: 'PUT', body: JSON.stringify(faults), signal: AbortSignal.timeout(2000) })
      await res.body?.cancel()
    },
    async stats () {
      const res = await fetch(`${url}/_stats`, { signal: AbortSignal.timeout(2000) })
      return await res.json() as { calls: number, perSecond: SecondStats[] }
    }
  }
}

/** The naive reference gateway (bench/reference/naive-gateway.ts), run as production runs the gateway. */
export async function startReferenceProcess (o: { backendUrl: string, redisUrl: string, logPath: string }): Promise<GatewayProcess> {
  const port = await freePort()
  const log = openSync(o.logPath, 'a')
  const child = spawnManaged('reference', process.execPath, ['--import', 'tsx', 'bench/reference/naive-gateway.ts'], {
    cwd: ROOT,
    env: { ...baseEnv(), NODE_ENV: 'production', NODE_OPTIONS: PRODUCTION_NODE_OPTIONS, AUTH_BACKEND_URL: o.backendUrl, REDIS_URL: o.redisUrl, PORT: String(port), HOST: '127.0.0.1' },
    output: log
  })
  closeSync(log)
  const url = `http://127.0.0.1:${port}`
  await waitFor('reference gateway', async () => await ok(`${url}/healthz`), child, 20_000)
  return { url, process: child }
}

export interface GatewayProcess {
  url: string
  process: Managed
}

export interface GatewayLaunch {
  env: Record<string, string>
  logPath: string
  /** Directory for a V8 CPU profile (written when the gateway exits on SIGTERM). */
  cpuProfDir?: string
  /** The checkout whose src/server.ts runs (default: this one). */
  root?: string
  /** A compiled build to run with plain node instead of src/ through tsx. */
  build?: GatewayBuild
}

export async function startGatewayProcess (o: GatewayLaunch): Promise<GatewayProcess> {
  const port = await freePort()
  const log = openSync(o.logPath, 'a')
  const prof = o.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir]
  const entry = o.build === undefined ? ['--import', 'tsx', 'src/server.ts'] : [o.build.entry]
  const child = spawnManaged('gateway', process.execPath, [...prof, ...entry], {
    cwd: o.build?.dir ?? o.root ?? ROOT,
    env: { ...baseEnv(), ...(o.build === undefined ? {} : { NODE_ENV: 'production', NODE_OPTIONS: PRODUCTION_NODE_OPTIONS }), ...o.env, PORT: String(port), HOST: '127.0.0.1' },
    output: log
  })
  closeSync(log)
  const url = `http://127.0.0.1:${port}`
  await waitFor('gateway', async () => await ok(`${url}/healthz`), child, 30_000)
  return { url, process: child }
}
