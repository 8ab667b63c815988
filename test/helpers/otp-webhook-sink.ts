// A real HTTP server taking OTP webhook calls (the gateway's generic webhook adapter), scripted
// per call: accept, fail, hang, drop the connection. It remembers what it was asked to deliver.
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import { type Socket } from 'node:net'
import { onTestFinished } from 'vitest'

export interface Delivered {
  channel: string
  to: string
  code: string
  text: string
  locale: string
}

export type SinkReply = { status: number, delayMs?: number } | { hang: true } | { destroy: true }

export interface WebhookSink {
  url: string
  calls: () => number
  delivered: Delivered[]
  script: (fn: (n: number) => SinkReply) => void
  refuse: () => Promise<void>
}

export async function webhookSink (initial: (n: number) => SinkReply = () => ({ status: 200 })): Promise<WebhookSink> {
  let script = initial
  let calls = 0
  const delivered: Delivered[] = []
  const hung: ServerResponse[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c as Buffer))
    req.on('end', () => {
      const reply = script(++calls)
      if ('hang' in reply) { hung.push(res); return }
      if ('destroy' in reply) { req.socket.destroy(); return }
      const answer = () => {
        if (res.destroyed) return
        if (reply.status < 300) delivered.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Delivered)
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId: `m${calls}` }))
      }
      if (reply.delayMs) setTimeout(answer, reply.delayMs)
      else answer()
    })
  })
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const refuse = async () => {
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    for (const s of sockets) s.destroy()
    await closed
  }
  onTestFinished(refuse)
  return { url: `http://127.0.0.1:${port}/send`, calls: () => calls, delivered, script: fn => { script = fn }, refuse }
}

/** An OTP_PROVIDERS entry for a sink: the webhook adapter with the default body. */
export const webhookProvider = (name: string, sink: WebhookSink, channels: string[], priority: number, timeoutMs = 300) =>
  ({ type: 'webhook', name, channels, priority, timeoutMs, url: sink.url })
