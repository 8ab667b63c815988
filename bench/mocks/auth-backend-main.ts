// The mock auth backend as its own process (so its CPU is not the load generator's):
// `node --import tsx bench/mocks/auth-backend-main.ts`, PORT (0 = any free port) and HOST from
// the environment. Prints one JSON line with its URL once listening; exits on SIGTERM/SIGINT.
import { once } from 'node:events'
import { createMockBackend } from './auth-backend.js'

const backend = createMockBackend()
backend.server.keepAliveTimeout = 30_000
backend.server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1')
await once(backend.server, 'listening')
const address = backend.server.address()
const port = typeof address === 'object' && address !== null ? address.port : 0
process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${port}` })}\n`)

const stop = () => {
  backend.server.close()
  backend.server.closeAllConnections()
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
