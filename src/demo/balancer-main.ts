// The local load balancer as its own process: BALANCER_UPSTREAMS (comma-separated gateway URLs),
// BALANCER_HOST (default 127.0.0.1), BALANCER_PORT (default 8000).
import closeWithGrace from 'close-with-grace'
import { createLogger } from '../infra/logger.js'
import { createBalancer } from './balancer.js'
import { listen, portFrom } from './json-http.js'

const log = createLogger(process.env.LOG_LEVEL ?? 'info')
const port = portFrom('BALANCER_PORT', process.env.BALANCER_PORT, 8000)
const upstreams = (process.env.BALANCER_UPSTREAMS ?? '').split(',').map(s => s.trim()).filter(Boolean)
const bad = upstreams.filter(u => !/^http:\/\/[^\s/]+(:\d+)?\/?$/.test(u))
if (typeof port === 'string' || upstreams.length === 0 || bad.length > 0) {
  log.fatal(typeof port === 'string' ? port : `BALANCER_UPSTREAMS=${JSON.stringify(process.env.BALANCER_UPSTREAMS)} is invalid: allowed http://host:port,http://host:port`)
  process.exitCode = 1
} else {
  const balancer = await listen(createBalancer({ upstreams }), process.env.BALANCER_HOST ?? '127.0.0.1', port)
  log.info({ url: balancer.url, upstreams }, 'load balancer listening')
  closeWithGrace({ delay: 5000 }, async () => { await balancer.close() })
}
