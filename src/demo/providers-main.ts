// The mock OTP providers as their own process (docker-compose, or by hand next to a gateway in
// production mode): DEMO_PROVIDERS_HOST (default 127.0.0.1), DEMO_PROVIDERS_PORT (default 8082).
import closeWithGrace from 'close-with-grace'
import { createLogger } from '../infra/logger.js'
import { demoProvidersConfig, startDemoProviders } from './demo-providers.js'
import { portFrom } from './json-http.js'

const log = createLogger(process.env.LOG_LEVEL ?? 'info')
const port = portFrom('DEMO_PROVIDERS_PORT', process.env.DEMO_PROVIDERS_PORT, 8082)
if (typeof port === 'string') {
  log.fatal(port)
  process.exitCode = 1
} else {
  const providers = await startDemoProviders(process.env.DEMO_PROVIDERS_HOST ?? '127.0.0.1', port)
  log.info({ url: providers.url }, 'mock OTP providers listening; codes at GET /outbox')
  log.info(`OTP_PROVIDERS for a gateway on this host: ${demoProvidersConfig(providers.url)}`)
  closeWithGrace({ delay: 5000 }, async () => { await providers.close() })
}
