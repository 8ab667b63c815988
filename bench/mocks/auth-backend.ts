// The mock auth backend: the DESIGN.md contract (POST /verify) over the bench's account
// directory, plus faults switched at run time (latency, 5xx share, hanging) and per-second
// counts of calls and concurrency, so a scenario can see what reached the backend and when.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { verifyCredentials } from '../traffic/population.js'

export interface BackendFaults {
  /** Added to every /verify answer. */
  latencyMs: number
  /** Share (0..1) of /verify calls answered `errorStatus`. */
  errorRate: number
  errorStatus: number
  /** Share (0..1) of /verify calls never answered. */
  hangRate: number
}

export const NO_FAULTS: BackendFaults = { latencyMs: 0, errorRate: 0, errorStatus: 503, hangRate: 0 }

export interface SecondStats {
  /** Unix second. */
  s: number
  calls: number
  errors: number
  maxInFlight: number
}

export interface MockBackend {
  server: Server
  faults: () => BackendFaults
  stats: () => { calls: number, perSecond: SecondStats[] }
}

// The per-second history is bounded: a run is minutes long, never days.
const MAX_SECONDS = 3600

export function createMockBackend (): MockBackend {
  let faults = NO_FAULTS
  let calls = 0
  let inFlight = 0
  const seconds = new Map<number, SecondStats>()
  const hung = new Set<ServerResponse>()

  const bucket = (): SecondStats => {
    const s = Math.floor(Date.now() / 1000)
    let b = seconds.get(s)
    if (b === undefined) {
      b = { s, calls: 0, errors: 0, maxInFlight: 0 }
      seconds.set(s, b)
      if (seconds.size > MAX_SECONDS) seconds.delete(seconds.keys().next().value ?? s)
    }
    return b
  }

  function verify (raw: string, res: ServerResponse): void {
    calls++
    inFlight++
    const b = bucket()
    b.calls++
    b.maxInFlight = Math.max(b.maxInFlight, inFlight)
    res.once('close', () => { inFlight--; hung.delete(res) })
    const roll = Math.random()
    if (roll < faults.hangRate) { hung.add(res); return }
    let status = 0
    let body = ''
    if (roll < faults.hangRate + faults.errorRate) {
      b.errors++
      status = faults.errorStatus
      body = '{"error":"injected"}'
    } else {
      const creds = parseCredentials(raw)
      const answer = verifyCredentials(creds.username, creds.password)
      status = answer.status
      body = JSON.stringify(answer.body)
    }
    const send = () => { if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(body) }
    if (faults.latencyMs > 0) setTimeout(send, faults.latencyMs)
    else send()
  }

  const server = createServer((req, res) => {
    readBody(req).then(raw => { route(req, res, raw) }, () => { res.writeHead(400).end() })
  })

  function route (req: IncomingMessage, res: ServerResponse, raw: string): void {
    if (req.method === 'POST' && req.url === '/verify') return verify(raw, res)
    if (req.method === 'GET' && req.url === '/healthz') return json(res, 200, { status: 'ok' })
    if (req.method === 'PUT' && req.url === '/_faults') {
      faults = { ...NO_FAULTS, ...(JSON.parse(raw || '{}') as Partial<BackendFaults>) }
      return json(res, 200, faults)
    }
    if (req.method === 'GET' && req.url === '/_stats') return json(res, 200, { calls, perSecond: [...seconds.values()] })
    json(res, 404, { error: 'not_found' })
  }

  server.on('close', () => { for (const res of hung) res.destroy() })
  return { server, faults: () => faults, stats: () => ({ calls, perSecond: [...seconds.values()] }) }
}

function parseCredentials (raw: string): { username: string, password: string } {
  try {
    const value = JSON.parse(raw) as { username?: unknown, password?: unknown }
    return { username: String(value.username ?? ''), password: String(value.password ?? '') }
  } catch {
    return { username: '', password: '' }
  }
}

function json (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
