// Mock OTP providers as a stand-alone HTTP server, for the production-mode stack (docker-compose,
// or by hand): each provider is a webhook endpoint POST /send/<name> speaking the gateway's
// `webhook` adapter format; what they accept lands in an outbox at GET /outbox, so an operator
// can finish an OTP login by hand. PUT /faults {"down":["sms-primary"]} makes providers fail,
// to watch the gateway fail over. Codes are never logged; the outbox is the only place they go.
import { createServer, type Server } from 'node:http'
import { type Listening, listen, readJson, send } from './json-http.js'

export interface DemoProviderSpec {
  name: string
  channels: Array<'sms' | 'voice' | 'email'>
  priority: number
}

export const DEMO_PROVIDER_SPECS: readonly DemoProviderSpec[] = [
  { name: 'sms-primary', channels: ['sms'], priority: 1 },
  { name: 'sms-backup', channels: ['sms'], priority: 2 },
  { name: 'voice', channels: ['voice'], priority: 1 },
  { name: 'email', channels: ['email'], priority: 1 }
]

const OUTBOX_SIZE = 50

interface Delivered { provider: string, channel: unknown, to: unknown, code: unknown, at: string }

/** OTP_PROVIDERS for a gateway whose providers are this server at `baseUrl`. */
export function demoProvidersConfig (baseUrl: string, specs: readonly DemoProviderSpec[] = DEMO_PROVIDER_SPECS): string {
  return JSON.stringify(specs.map(s => ({ type: 'webhook', name: s.name, channels: s.channels, priority: s.priority, url: `${baseUrl}/send/${s.name}` })))
}

export function createDemoProvidersServer (specs: readonly DemoProviderSpec[] = DEMO_PROVIDER_SPECS): Server {
  const names = new Set(specs.map(s => s.name))
  const down = new Set<string>()
  const outbox: Delivered[] = []
  let sent = 0

  return createServer((req, res) => {
    const route = `${req.method ?? ''} ${req.url ?? ''}`
    if (route === 'GET /healthz') return send(res, 200, { status: 'ok' })
    if (route === 'GET /outbox') return send(res, 200, { messages: outbox })
    if (route === 'PUT /faults') {
      readJson(req).then(body => {
        down.clear()
        for (const name of Array.isArray(body?.down) ? body.down : []) if (typeof name === 'string' && names.has(name)) down.add(name)
        send(res, 200, { down: [...down] })
      }, () => send(res, 400, { error: 'bad_request' }))
      return
    }
    const name = /^POST \/send\/([a-z0-9_-]+)$/.exec(route)?.[1]
    if (name === undefined || !names.has(name)) return send(res, 404, { error: 'not_found' })
    if (down.has(name)) return send(res, 503, { error: 'switched off for the demo' })
    readJson(req).then(body => {
      outbox.unshift({ provider: name, channel: body?.channel, to: body?.to, code: body?.code, at: new Date().toISOString() })
      outbox.length = Math.min(outbox.length, OUTBOX_SIZE)
      send(res, 200, { messageId: `${name}-${++sent}` })
    }, () => send(res, 400, { error: 'bad_request' }))
  })
}

export async function startDemoProviders (host = '127.0.0.1', port = 0): Promise<Listening> {
  return await listen(createDemoProvidersServer(), host, port)
}
