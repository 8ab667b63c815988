// The production-mode stack of docker-compose.yml, started as plain servers: the demo backend,
// the mock OTP providers, two gateway replicas on one Redis and the balancer in front.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { type FastifyInstance } from 'fastify'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { createBalancer } from '../../src/demo/balancer.js'
import { startDemoBackend } from '../../src/demo/demo-backend.js'
import { demoProvidersConfig, startDemoProviders } from '../../src/demo/demo-providers.js'
import { listen } from '../../src/demo/json-http.js'
import { buildTestApp } from '../helpers/test-app.js'

async function listening (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

async function startStack () {
  const backend = await startDemoBackend()
  const providers = await startDemoProviders()
  onTestFinished(async () => { await Promise.all([backend.close(), providers.close()]) })
  // One key prefix for both replicas: they share Redis, as in docker-compose.
  const env = { AUTH_BACKEND_URL: backend.url, OTP_PROVIDERS: demoProvidersConfig(providers.url), TRUST_PROXY: 'loopback', REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: `stack:${randomUUID().slice(0, 8)}:`, GATEWAY_REPLICAS: '2' }
  const replicas = [await buildTestApp({ env }), await buildTestApp({ env })]
  const urls = await Promise.all(replicas.map(listening))
  const balancer = await listen(createBalancer({ upstreams: urls }), '127.0.0.1', 0)
  onTestFinished(() => balancer.close())
  const call = async (path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${balancer.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: res.status, json: await res.json() as Record<string, unknown> }
  }
  const outbox = async () => (await (await fetch(`${providers.url}/outbox`)).json() as { messages: Array<{ provider: string, channel: string, to: string, code: string }> }).messages
  const setProvidersDown = async (down: string[]) => { await fetch(`${providers.url}/faults`, { method: 'PUT', body: JSON.stringify({ down }) }) }
  const loginsServed = async (app: FastifyInstance) => {
    const text = (await app.inject({ url: '/metrics' })).body
    return [...text.matchAll(/^lg_http_requests_total\{route="\/auth\/login"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
  }
  return { call, outbox, setProvidersDown, replicas, loginsServed }
}

describe('the local two-replica stack', () => {
  it('spreads logins over both replicas, which share sessions, and delivers bob\'s code through the mock providers', async () => {
    const { call, outbox, replicas, loginsServed } = await startStack()
    for (let i = 0; i < 4; i++) expect((await call('/auth/login', { username: 'alice', password: 'alice-demo-pass' })).json.status).toBe('authenticated')
    expect(await loginsServed(replicas[0] as FastifyInstance)).toBe(2)
    expect(await loginsServed(replicas[1] as FastifyInstance)).toBe(2)

    const login = await call('/auth/login', { username: 'bob', password: 'bob-demo-pass' })
    expect(login.json).toMatchObject({ status: 'otp_required', destination: '138****5678' })
    expect((await call('/auth/otp/send', { challengeId: login.json.challengeId })).json.status).toBe('sent')
    const [message] = await outbox()
    expect(message).toMatchObject({ provider: 'sms-primary', channel: 'sms', to: '+8613812345678' })
    const verified = await call('/auth/otp/verify', { challengeId: login.json.challengeId, code: message?.code })
    expect(verified.json.status).toBe('authenticated')
    // Whichever replica answers, the session is the same one.
    for (let i = 0; i < 2; i++) expect((await call('/auth/session', undefined, { authorization: `Bearer ${String(verified.json.token)}` })).json).toMatchObject({ status: 'active', userId: 'u-bob' })
  })

  it('fails over to the backup SMS provider when the primary is switched off', async () => {
    const { call, outbox, setProvidersDown } = await startStack()
    await setProvidersDown(['sms-primary'])
    const login = await call('/auth/login', { username: 'bob', password: 'bob-demo-pass' })
    expect((await call('/auth/otp/send', { challengeId: login.json.challengeId })).json.status).toBe('sent')
    expect((await outbox())[0]).toMatchObject({ provider: 'sms-backup', channel: 'sms' })
    await setProvidersDown(['sms-primary', 'sms-backup'])
    const again = await call('/auth/login', { username: 'bob', password: 'bob-demo-pass' })
    const failed = await call('/auth/otp/send', { challengeId: again.json.challengeId })
    expect(failed).toMatchObject({ status: 503, json: { code: 'otp_delivery_failed', alternatives: ['voice', 'email'] } })
  })

  it('keeps serving through the other replica when one stops', async () => {
    const { call, replicas } = await startStack()
    await replicas[1]?.close()
    for (let i = 0; i < 4; i++) expect((await call('/auth/login', { username: 'alice', password: 'alice-demo-pass' })).status).toBe(200)
  })
})

describe('the local balancer', () => {
  it('sets X-Forwarded-For to its peer, never to what a client claims, and skips a replica it cannot reach', async () => {
    const seen: string[] = []
    const echo = await listen(createServer((req, res) => {
      seen.push(String(req.headers['x-forwarded-for']))
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive' }).end('{"ok":true}')
    }), '127.0.0.1', 0)
    onTestFinished(() => echo.close())
    const balancer = await listen(createBalancer({ upstreams: ['http://no-such-replica.invalid:8080', echo.url] }), '127.0.0.1', 0)
    onTestFinished(() => balancer.close())
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${balancer.url}/x`, { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.9' }, body: 'hello' })
      expect(res.status).toBe(200)
    }
    expect(seen).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1'])
  })
})
