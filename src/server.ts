// The process edge: read the environment and config file, build the app, listen, and shut
// down gracefully on SIGTERM/SIGINT. The only module that reads process.env.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import closeWithGrace from 'close-with-grace'
import { parse as parseYaml } from 'yaml'
import { buildApp } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { startDemoBackend } from './demo/demo-backend.js'
import { createDemoFaults } from './demo/demo-faults.js'
import { createLogger } from './infra/logger.js'

async function readConfigFile (path: string | undefined): Promise<Record<string, unknown>> {
  if (path === undefined || path === '') return {}
  let parsed: unknown
  try {
    parsed = parseYaml(await readFile(path, 'utf8')) // YAML is a superset of JSON
  } catch (err) {
    throw new ConfigError([`CONFIG_FILE=${path} cannot be read: ${(err as Error).message}`])
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`CONFIG_FILE=${path} must hold a mapping of configuration keys`])
  }
  return parsed as Record<string, unknown>
}

async function loadOrExplain (): Promise<Config | undefined> {
  try {
    return loadConfig(process.env, await readConfigFile(process.env.CONFIG_FILE))
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`${(err as Error).message}\n`)
    process.exitCode = 1
    return undefined
  }
}

/**
 * Zero-config demo mode has no ADMIN_TOKEN, so the console would be off: this process makes one
 * up and prints it, so that a newcomer can open the console. Never in production mode.
 */
function withDemoAdminToken (config: Config): { config: Config, generatedToken?: string } {
  if (config.mode !== 'demo' || config.ADMIN_TOKEN !== undefined) return { config }
  const generatedToken = randomBytes(24).toString('base64url')
  return { config: { ...config, ADMIN_TOKEN: generatedToken }, generatedToken }
}

function urlOf (config: Config, port: number, path: string): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host
  return `http://${host}:${port}${path}`
}

const loaded = await loadOrExplain()
if (loaded !== undefined) {
  const { config, generatedToken } = withDemoAdminToken(loaded)
  const log = createLogger(config.LOG_LEVEL)
  const demoFaults = createDemoFaults()
  const demo = config.mode === 'demo' ? await startDemoBackend('127.0.0.1', 0, demoFaults) : undefined
  if (demo) {
    log.warn(`DEMO MODE: in-process demo auth backend, ${config.redis ? 'Redis' : 'in-memory'} sessions; not for production`)
    log.warn('DEMO MODE: users alice / alice-demo-pass and bob / bob-demo-pass (second factor)')
    log.warn('DEMO MODE: set AUTH_BACKEND_URL and REDIS_URL for production mode')
    const pages = `demo login page at ${urlOf(config, config.PORT, '/')}; console at ${urlOf(config, config.ADMIN_PORT ?? config.PORT, '/console')}`
    log.warn(generatedToken === undefined
      ? `DEMO MODE: ${pages} with your ADMIN_TOKEN`
      : `DEMO MODE: ${pages} with the admin token ${generatedToken} (made up for this process; set ADMIN_TOKEN to choose one)`)
  }
  if (config.trustProxy === true) log.warn('TRUST_PROXY=true: every peer may set the client address (X-Forwarded-For); only behind proxies you own')
  if (typeof config.trustProxy === 'number') log.warn(`TRUST_PROXY=${config.trustProxy}: the nearest hops are trusted whatever their address; a client reaching the gateway directly can set its own address`)
  const app = await buildApp({ config, logger: log, authBackendUrl: demo?.url, demoFaults })
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an uncaught error')
    else log.info({ signal }, 'shutting down: finishing in-flight requests')
    await app.close()
    await demo?.close()
  })
  await app.listen({ port: config.PORT, host: config.host })
  if (app.adminServer && config.ADMIN_PORT !== undefined) await app.adminServer.listen({ port: config.ADMIN_PORT, host: config.host })
}
