// The demo auth backend as its own process (docker-compose, or by hand next to a gateway in
// production mode): DEMO_BACKEND_HOST (default 127.0.0.1), DEMO_BACKEND_PORT (default 8081).
import { startDemoBackend } from './demo-backend.js'
import { runStandalone } from './standalone.js'

await runStandalone({
  prefix: 'DEMO_BACKEND',
  defaultPort: 8081,
  start: async (host, port) => await startDemoBackend(host, port),
  describe: () => ['demo auth backend listening (users alice, bob)']
})
