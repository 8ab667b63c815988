// A round-robin HTTP load balancer for the local two-replica stack (docker-compose, or by hand):
// it adds the client's address to X-Forwarded-For, and sends a request that a replica refused
// to connect to on to the next one, leaving the refusing replica out for a few seconds. Written
// here, not taken from a library, because it is a small demo tool that must start wherever Node
// does; in production put the gateway behind your own load balancer (nginx, envoy, a cloud LB)
// and list it in TRUST_PROXY.
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http'

export interface BalancerOptions {
  upstreams: readonly string[]
  /** How long a replica that refused a connection is left out. */
  downForMs?: number
  now?: () => number
}

interface Upstream { url: URL, downUntil: number }

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'content-length'])
// Login bodies are a few KiB: buffered whole, so a refused connection can be retried elsewhere.
const MAX_BODY_BYTES = 64 * 1024

export function createBalancer (o: BalancerOptions): Server {
  const upstreams: Upstream[] = o.upstreams.map(u => ({ url: new URL(u), downUntil: 0 }))
  const now = o.now ?? Date.now
  const downForMs = o.downForMs ?? 5000
  let next = 0

  // The next replica not left out, round robin; when every one is, all of them in turn anyway.
  function order (): Upstream[] {
    const start = next++ % upstreams.length
    const rotated = [...upstreams.slice(start), ...upstreams.slice(0, start)]
    const up = rotated.filter(u => u.downUntil <= now())
    return up.length > 0 ? [...up, ...rotated.filter(u => u.downUntil > now())] : rotated
  }

  function forward (req: IncomingMessage, res: ServerResponse, body: Buffer, candidates: Upstream[]): void {
    const [upstream, ...rest] = candidates
    if (upstream === undefined) {
      res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"no gateway replica reachable"}')
      return
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !HOP_BY_HOP.has(k)))
    headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ')
    headers['content-length'] = String(body.length)
    const out = request({ host: upstream.url.hostname, port: upstream.url.port, method: req.method, path: req.url, headers }, answer => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') {
        upstream.downUntil = now() + downForMs
        forward(req, res, body, rest) // nothing reached that replica: safe to send elsewhere
      } else if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"gateway replica failed"}')
      } else {
        res.destroy()
      }
    })
    out.end(body)
  }

  return createServer((req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) { res.writeHead(413).end(); req.destroy() } else chunks.push(chunk)
    })
    req.on('end', () => { if (!res.headersSent) forward(req, res, Buffer.concat(chunks), order()) })
  })
}
