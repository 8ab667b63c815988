// A round-robin HTTP load balancer for the local two-replica stack (docker-compose, or by hand).
// It is the edge: it sets X-Forwarded-For to its peer's address (never trusting one a client
// sent), and sends a request that could not reach a replica at all (refused, unresolvable,
// unreachable) on to the next one, leaving that replica out for a few seconds. Written here, not
// taken from a library, because it is a small demo tool that must start wherever Node does; in
// production put the gateway behind your own load balancer (nginx, envoy, a cloud LB) and list
// it in TRUST_PROXY.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http'
import { pipeline } from 'node:stream'

export interface BalancerOptions {
  upstreams: readonly string[]
  /** How long a replica that could not be reached is left out. */
  downForMs?: number
  /** A replica's answer must start within this, else 504. */
  timeoutMs?: number
  now?: () => number
}

interface Upstream { url: URL, downUntil: number }

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'content-length', 'x-forwarded-for'])
// Bodies are buffered whole, so that one that reached no replica can go to the next; the
// largest the gateway takes is an admin replay upload (5 MiB).
const MAX_BODY_BYTES = 6 * 1024 * 1024
// Errors of a request that never reached the replica: safe to send elsewhere.
const UNREACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

function endToEnd (headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = new Set(String(headers.connection ?? '').split(',').map(s => s.trim().toLowerCase()))
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_BY_HOP.has(k) && !named.has(k)))
}

function fail (res: ServerResponse, status: number, error: string): void {
  if (res.headersSent) res.destroy()
  else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error }))
}

export function createBalancer (o: BalancerOptions): Server {
  const upstreams: Upstream[] = o.upstreams.map(u => ({ url: new URL(u), downUntil: 0 }))
  const now = o.now ?? Date.now
  const downForMs = o.downForMs ?? 5000
  const timeoutMs = o.timeoutMs ?? 30_000
  let next = 0

  // Round robin over the replicas not left out; when every one is, all of them in turn anyway.
  function order (): Upstream[] {
    const start = next++ % upstreams.length
    const rotated = [...upstreams.slice(start), ...upstreams.slice(0, start)]
    const up = rotated.filter(u => u.downUntil <= now())
    return up.length > 0 ? [...up, ...rotated.filter(u => u.downUntil > now())] : rotated
  }

  function forward (req: IncomingMessage, res: ServerResponse, body: Buffer, candidates: Upstream[]): void {
    const [upstream, ...rest] = candidates
    if (upstream === undefined) return fail(res, 502, 'no gateway replica reachable')
    const headers = { ...endToEnd(req.headers), 'x-forwarded-for': req.socket.remoteAddress ?? '', 'content-length': String(body.length) }
    const out = request({ host: upstream.url.hostname, port: upstream.url.port, method: req.method, path: req.url, headers, timeout: timeoutMs }, answer => {
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers))
      pipeline(answer, res, () => undefined) // a replica that dies mid-answer ends the client's too
    })
    out.on('timeout', () => { out.destroy(Object.assign(new Error('replica too slow'), { code: 'ETIMEDOUT' })) })
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (UNREACHED.has(err.code ?? '')) {
        upstream.downUntil = now() + downForMs
        forward(req, res, body, rest)
      } else {
        fail(res, err.code === 'ETIMEDOUT' ? 504 : 502, 'gateway replica failed')
      }
    })
    out.end(body)
  }

  return createServer((req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) fail(res, 413, 'body too large')
      else forward(req, res, Buffer.concat(chunks), order())
    })
  })
}
