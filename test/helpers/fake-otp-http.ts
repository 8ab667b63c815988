// Real HTTP servers for the OTP adapters: a recorder scripted per request (answer, hang, drop the
// connection), and a script that speaks Twilio's Messages/Calls API. Never a mock.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { type Socket } from 'node:net'
import { onTestFinished } from 'vitest'

export interface RecordedRequest {
  n: number
  method: string
  /** Path and query. */
  path: string
  headers: IncomingHttpHeaders
  body: string
}

export type HttpReply =
  | { status: number, body?: unknown, headers?: Record<string, string> }
  | { hang: true }
  | { destroy: true }

export type HttpScript = (req: RecordedRequest) => HttpReply

export interface FakeHttpServer {
  readonly url: string
  readonly requests: RecordedRequest[]
  script: (fn: HttpScript) => void
  /** Sockets the server still has open. */
  openConnections: () => number
  close: () => Promise<void>
}

export async function startFakeHttpServer (initial: HttpScript): Promise<FakeHttpServer> {
  let script = initial
  const requests: RecordedRequest[] = []
  const hung: ServerResponse[] = []
  const sockets = new Set<Socket>()

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const recorded = { n: requests.length + 1, method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
    requests.push(recorded)
    const reply = script(recorded)
    if ('hang' in reply) { hung.push(res); return }
    if ('destroy' in reply) { req.socket.destroy(); return }
    const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {})
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(text)
  })
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: fn => { script = fn },
    openConnections: () => sockets.size,
    async close () {
      if (!server.listening) return
      const closed = once(server, 'close')
      server.close()
      for (const s of sockets) s.destroy()
      hung.length = 0
      await closed
    }
  }
}

/** Starts a fake HTTP server that closes itself when the current test ends. */
export async function fakeHttpServerForTest (script: HttpScript): Promise<FakeHttpServer> {
  const server = await startFakeHttpServer(script)
  onTestFinished(() => server.close())
  return server
}

export const TWILIO_ACCOUNT = { sid: 'AC00000000000000000000000000000001', token: 'twilio-test-token' }

function twilioError (status: number, code: number, message: string): HttpReply {
  return { status, body: { code, message, status, more_info: `https://www.twilio.com/docs/errors/${code}` } }
}

/** Twilio's REST API as the adapter uses it: path, basic auth and form fields checked; 201 {sid}. */
export function twilioApi (account = TWILIO_ACCOUNT): HttpScript {
  const resource = new RegExp(`^/2010-04-01/Accounts/${account.sid}/(Messages|Calls)\\.json$`)
  const basic = `Basic ${Buffer.from(`${account.sid}:${account.token}`).toString('base64')}`
  return req => {
    const kind = resource.exec(req.path)?.[1]
    if (req.method !== 'POST' || kind === undefined) return twilioError(404, 20404, 'The requested resource was not found')
    if (req.headers.authorization !== basic) return twilioError(401, 20003, 'Authenticate')
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return twilioError(400, 20001, 'Unsupported content type')
    const form = new URLSearchParams(req.body)
    const to = form.get('To')
    // Twilio quotes the number in its messages: the adapter must not pass them on.
    if (!to?.startsWith('+')) return twilioError(400, 21211, `The 'To' number ${to ?? ''} is not a valid phone number.`)
    if (!form.get('From')) return twilioError(400, 21603, 'A \'From\' phone number is required.')
    if (kind === 'Messages' && !form.get('Body')) return twilioError(400, 21602, 'Message body is required.')
    if (kind === 'Calls' && !form.get('Twiml')) return twilioError(400, 21205, 'Url parameter is required.')
    const sid = `${kind === 'Messages' ? 'SM' : 'CA'}${randomBytes(16).toString('hex')}`
    return { status: 201, body: { sid, account_sid: account.sid, to, from: form.get('From'), status: 'queued' } }
  }
}
