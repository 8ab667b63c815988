// The demo auth backend: a real HTTP server speaking the backend contract (POST /verify), run
// in-process in demo mode and as its own process in docker-compose. Unknown users and wrong
// passwords cost the same work, so the demo never leaks which usernames exist.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { createDemoFaults, type DemoFaults, SLOW_BACKEND_MS } from './demo-faults.js'

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

const MAX_BODY_BYTES = 4096
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
  const server = createDemoBackendServer(DEMO_USERS, faults)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () => new Promise<void>(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}

function send (res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
  res.end(payload)
}

async function readJson (req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  return typeof parsed === 'object' && parsed !== null ? parsed as Record<string, unknown> : null
}
