// Runs one of the demo's stand-alone servers as its own process: the port and host from the
// environment (a bad port stops it with the key named), a log line once it listens, and a
// graceful close on SIGTERM/SIGINT.
import closeWithGrace from 'close-with-grace'
import { createLogger } from '../infra/logger.js'
import { type Listening, portFrom } from './json-http.js'

export interface StandaloneServer {
  /** Environment keys: `<prefix>_HOST` and `<prefix>_PORT`. */
  prefix: string
  defaultPort: number
  start: (host: string, port: number) => Promise<Listening>
  /** What the process logs once it listens. */
  describe: (url: string) => string[]
}

export async function runStandalone (s: StandaloneServer, env: Record<string, string | undefined> = process.env): Promise<void> {
  const log = createLogger(env.LOG_LEVEL ?? 'info')
  const port = portFrom(`${s.prefix}_PORT`, env[`${s.prefix}_PORT`], s.defaultPort)
  if (typeof port === 'string') {
    log.fatal(port)
    process.exitCode = 1
    return
  }
  const server = await s.start(env[`${s.prefix}_HOST`] ?? '127.0.0.1', port)
  for (const line of s.describe(server.url)) log.info({ url: server.url }, line)
  closeWithGrace({ delay: 5000 }, async () => { await server.close() })
}
