// Mock OTP providers: one HTTP server in the bench process taking the gateway's `webhook`
// adapter calls at /send/<provider>. Each provider can be switched to fail or hang mid-run.
// Accepted codes go to a mailbox keyed by destination, where honest users read them.
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import { type Socket } from 'node:net'
import { type Mailbox } from '../traffic/honest-agent.js'

export type SinkMode = { kind: 'ok' } | { kind: 'fail', status: number } | { kind: 'hang' }

export interface SinkProvider {
  name: string
  channels: Array<'sms' | 'voice' | 'email'>
  priority: number
}

export interface SinkCounts {
  accepted: number
  failed: number
  hung: number
}

export interface OtpSinks {
  /** OTP_PROVIDERS for the gateway: webhook providers pointing here. */
  providersJson: (timeoutMs: number) => string
  mailbox: Mailbox
  setMode: (provider: string, mode: SinkMode) => void
  counts: () => Record<string, SinkCounts>
  /** Accepted messages per destination whose number starts with `prefix`. */
  deliveriesTo: (prefix: string) => Map<string, number>
  close: () => Promise<void>
}

interface Delivered { channel?: string, to?: string, code?: string }

/** sms-primary and sms-backup for SMS failover, one provider each for voice and email. */
export const DEFAULT_SINK_PROVIDERS: SinkProvider[] = [
  { name: 'sms-primary', channels: ['sms'], priority: 1 },
  { name: 'sms-backup', channels: ['sms'], priority: 2 },
  { name: 'voice', channels: ['voice'], priority: 1 },
  { name: 'email', channels: ['email'], priority: 1 }
]

export async function startOtpSinks (providers: readonly SinkProvider[] = DEFAULT_SINK_PROVIDERS): Promise<OtpSinks> {
  const modes = new Map<string, SinkMode>(providers.map(p => [p.name, { kind: 'ok' }]))
  const counts = new Map<string, SinkCounts>(providers.map(p => [p.name, { accepted: 0, failed: 0, hung: 0 }]))
  const codes = new Map<string, string>()
  const perDestination = new Map<string, number>()
  const hung = new Set<ServerResponse>()
  const sockets = new Set<Socket>()

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const name = /^\/send\/([a-z0-9_-]+)$/.exec(req.url ?? '')?.[1] ?? ''
      const mode = modes.get(name)
      const count = counts.get(name)
      if (mode === undefined || count === undefined) { res.writeHead(404).end(); return }
      if (mode.kind === 'hang') { count.hung++; hung.add(res); res.once('close', () => hung.delete(res)); return }
      if (mode.kind === 'fail') { count.failed++; res.writeHead(mode.status, { 'content-type': 'application/json' }).end('{"error":"injected"}'); return }
      const message = parse(Buffer.concat(chunks).toString('utf8'))
      if (message.to !== undefined && message.code !== undefined) {
        codes.set(message.to, message.code)
        perDestination.set(message.to, (perDestination.get(message.to) ?? 0) + 1)
      }
      count.accepted++
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"messageId":"m${count.accepted}"}`)
    })
  })
  server.on('connection', s => { sockets.add(s); s.once('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`

  return {
    providersJson: timeoutMs => JSON.stringify(providers.map(p => ({ type: 'webhook', name: p.name, channels: p.channels, priority: p.priority, timeoutMs, url: `${base}/send/${p.name}` }))),
    mailbox: {
      take (destination) {
        const code = codes.get(destination)
        codes.delete(destination)
        return code
      }
    },
    setMode (provider, mode) { if (modes.has(provider)) modes.set(provider, mode) },
    counts: () => Object.fromEntries(counts),
    deliveriesTo: prefix => new Map([...perDestination].filter(([to]) => to.startsWith(prefix))),
    async close () {
      if (!server.listening) return
      const closed = once(server, 'close')
      server.close()
      for (const s of sockets) s.destroy()
      await closed
    }
  }
}

function parse (text: string): Delivered {
  try {
    return JSON.parse(text) as Delivered
  } catch {
    return {}
  }
}
