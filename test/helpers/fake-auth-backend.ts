// A real HTTP server speaking the auth backend contract, scripted per call by each test:
// answer, delay, hang, drop the connection, refuse connections, recover. Never a mock.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { type Socket } from 'node:net'
import { onTestFinished } from 'vitest'

export type BackendReply =
  | { status: number, body?: unknown, delayMs?: number, headers?: Record<string, string> }
  | { hang: true }
  | { destroy: true }
  /** Headers and the first bytes of a 200 answer, then nothing more (until releaseHung). */
  | { stallBody: true }

export interface BackendCall {
  n: number
  username: string
  password: string
}

export type BackendScript = (call: BackendCall) => BackendReply

export interface FakeAuthBackend {
  readonly url: string
  /** How many requests reached the backend. */
  calls: () => number
  script: (fn: BackendScript) => void
  /** Stops listening: new connections are refused until accept(). */
  refuse: () => Promise<void>
  accept: () => Promise<void>
  /** Answers every hung request with 200 for alice. */
  releaseHung: () => void
  close: () => Promise<void>
}

/** The usual directory: alice / right-pass, bob / bob-pass with a phone; all else 401. */
export const directory: BackendScript = ({ username, password }) => {
  if (username === 'alice' && password === 'right-pass') return { status: 200, body: { userId: 'u-alice' } }
  if (username === 'bob' && password === 'bob-pass') return { status: 200, body: { userId: 'u-bob', mfa: { phone: '+8613812345678', email: 'bob@example.com' } } }
  return { status: 401, body: { error: 'invalid_credentials' } }
}

export async function startFakeAuthBackend (initial: BackendScript = directory): Promise<FakeAuthBackend> {
  let script = initial
  let calls = 0
  const hung: ServerResponse[] = []
  const sockets = new Set<Socket>()

  const server = createServer((req, res) => {
    readBody(req).then(raw => {
      const parsed = JSON.parse(raw) as { username: string, password: string }
      const reply = script({ n: ++calls, username: parsed.username, password: parsed.password })
      if ('hang' in reply) { hung.push(res); return }
      if ('destroy' in reply) { req.socket.destroy(); return }
      if ('stallBody' in reply) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"userId":')
        hung.push(res)
        return
      }
      const send = () => {
        if (res.destroyed) return
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
        res.end(JSON.stringify(reply.body ?? {}))
      }
      if (reply.delayMs) setTimeout(send, reply.delayMs)
      else send()
    }, () => { res.writeHead(400).end() })
  })
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }

  async function refuse () {
    const closed = once(server, 'close')
    server.close()
    for (const s of sockets) s.destroy()
    await closed
  }

  const backend: FakeAuthBackend = {
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    script: fn => { script = fn },
    refuse,
    async accept () {
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    },
    releaseHung () {
      for (const res of hung.splice(0)) {
        if (res.destroyed) continue
        if (res.headersSent) res.end('"u-alice"}')
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{"userId":"u-alice"}')
      }
    },
    async close () {
      if (server.listening) await refuse()
    }
  }
  return backend
}

/** Starts a fake backend that closes itself when the current test ends. */
export async function fakeBackendForTest (script?: BackendScript): Promise<FakeAuthBackend> {
  const backend = await startFakeAuthBackend(script)
  onTestFinished(() => backend.close())
  return backend
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
