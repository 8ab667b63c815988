// The small JSON-over-HTTP helpers the demo's stand-alone servers share (auth backend, OTP
// providers): they are plain node:http servers so that they start anywhere, in any process.
import { type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type AddressInfo } from 'node:net'

const MAX_BODY_BYTES = 4096

export interface Listening {
  url: string
  close: () => Promise<void>
}

export function send (res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
  res.end(payload)
}

export async function readJson (req: IncomingMessage): Promise<Record<string, unknown> | null> {
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

export async function listen (server: Server, host: string, port: number): Promise<Listening> {
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

/** A port from the environment, or what is wrong with it. */
export function portFrom (key: string, value: string | undefined, fallback: number): number | string {
  const port = value === undefined || value === '' ? fallback : Number(value)
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : `${key}=${JSON.stringify(value)} is invalid: allowed an integer from 0 to 65535`
}
