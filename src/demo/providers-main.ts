// The mock OTP providers as their own process (docker-compose, or by hand next to a gateway in
// production mode): DEMO_PROVIDERS_HOST (default 127.0.0.1), DEMO_PROVIDERS_PORT (default 8082).
import { demoProvidersConfig, startDemoProviders } from './demo-providers.js'
import { runStandalone } from './standalone.js'

await runStandalone({
  prefix: 'DEMO_PROVIDERS',
  defaultPort: 8082,
  start: startDemoProviders,
  describe: url => ['mock OTP providers listening; codes at GET /outbox', `OTP_PROVIDERS for a gateway on this host: ${demoProvidersConfig(url)}`]
})
