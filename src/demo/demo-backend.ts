// The demo auth backend: a real HTTP server speaking the backend contract (POST /verify), run
// in-process in demo mode and as its own process in docker-compose. Unknown users and wrong
// passwords cost the same work, so the demo never leaks which usernames exist.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { createDemoFaults, type DemoFaults, SLOW_BACKEND_MS } from './demo-faults.js'
import { listen, readJson, send } from './json-http.js'

export interface DemoUser {
  username: string
  password: string
  userId: string
  mfa?: { phone?: string, email?: string }
  contacts?: { phone?: string, email?: string }
}

export const DEMO_USERS: readonly DemoUser[] = [
  // alice has no second factor, but an address for a step-up that an abuse rule may ask for.
  { username: 'alice', password: 'alice-demo-pass', userId: 'u-alice', contacts: { email: 'alice@example.com' } },
  { username: 'bob', password: 'bob-demo-pass', userId: 'u-bob', mfa: { phone: '+8613812345678', email: 'bob@example.com' } }
]

const hash = (password: string, salt: Buffer) => scryptSync(password, salt, 32, { N: 1024 })

export interface DemoBackend {
  url: string
  close: () => Promise<void>
}

export function createDemoBackendServer (users: readonly DemoUser[] = DEMO_USERS, faults: DemoFaults = createDemoFaults()): Server {
  const salt = randomBytes(16)
  const accounts = new Map(users.map(u => [u.username, { user: u, hash: hash(u.password, salt) }]))
  const dummy = hash(randomBytes(16).toString('hex'), salt)

  function verify (username: unknown, password: unknown): DemoUser | null {
    if (typeof username !== 'string' || typeof password !== 'string') return null
    const account = accounts.get(username)
    const matches = timingSafeEqual(hash(password, salt), account?.hash ?? dummy)
    return matches && account ? account.user : null
  }

  return createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { status: 'ok' })
    // Standalone (docker-compose, the bench) the switch is here too: PUT /faults {"backend":"down"}.
    if (req.method === 'PUT' && req.url === '/faults') {
      readJson(req).then(body => {
        if (body?.backend === 'up' || body?.backend === 'down' || body?.backend === 'slow') faults.backend = body.backend
        send(res, 200, { backend: faults.backend })
      }, () => send(res, 400, { error: 'bad_request' }))
      return
    }
    if (req.method !== 'POST' || req.url !== '/verify') return send(res, 404, { error: 'not_found' })
    if (faults.backend === 'down') return send(res, 503, { error: 'down for the demo' })
    readJson(req).then(async body => {
      if (faults.backend === 'slow') await sleep(SLOW_BACKEND_MS)
      const user = verify(body?.username, body?.password)
      if (user === null) return send(res, 401, { error: 'invalid_credentials' })
      return send(res, 200, { userId: user.userId, ...(user.mfa ? { mfa: user.mfa } : {}), ...(user.contacts ? { contacts: user.contacts } : {}) })
    }, () => send(res, 400, { error: 'bad_request' }))
  })
}

export async function startDemoBackend (host = '127.0.0.1', port = 0, faults?: DemoFaults): Promise<DemoBackend> {
  return await listen(createDemoBackendServer(DEMO_USERS, faults), host, port)
}
