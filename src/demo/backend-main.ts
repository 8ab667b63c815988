// The demo auth backend as its own process (docker-compose, or by hand next to a gateway in
// production mode): DEMO_BACKEND_HOST (default 127.0.0.1), DEMO_BACKEND_PORT (default 8081).
import closeWithGrace from 'close-with-grace'
import { createLogger } from '../infra/logger.js'
import { startDemoBackend } from './demo-backend.js'
import { portFrom } from './json-http.js'

const log = createLogger(process.env.LOG_LEVEL ?? 'info')
const port = portFrom('DEMO_BACKEND_PORT', process.env.DEMO_BACKEND_PORT, 8081)
if (typeof port === 'string') {
  log.fatal(port)
  process.exitCode = 1
} else {
  const backend = await startDemoBackend(process.env.DEMO_BACKEND_HOST ?? '127.0.0.1', port)
  log.info({ url: backend.url }, 'demo auth backend listening (users alice, bob)')
  closeWithGrace({ delay: 5000 }, async () => { await backend.close() })
}
