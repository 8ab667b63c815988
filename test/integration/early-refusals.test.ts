// Refusals answered below the router (src/pipeline/early-refusals.ts): over a real socket, a
// request from an address already refused gets the pipeline's own answer, metrics and decision
// line without going through Fastify; what the pipeline might answer otherwise goes through it.
// app.inject never passes the server's request listener, so it shows what the router answers.
import { type FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { buildTestApp, capturedLogger } from '../helpers/test-app.js'

const ADMIN = 'early-refusals-admin-0123456789ab'
const BROWSER = {
  'content-type': 'application/json',
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'accept-language': 'zh-CN,zh;q=0.9'
}

async function listening (env: Record<string, string> = {}) {
  const backend = await fakeBackendForTest()
  const log = capturedLogger('info')
  const app = await buildTestApp({
    logger: log.logger,
    env: { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: ADMIN, TRUST_PROXY: 'true', LOG_LEVEL: 'info', LIMITS: JSON.stringify({ ip_attempts: { points: 2, windowS: 60 } }), ...env }
  })
  const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/auth/login`
  return { app, url, log }
}

async function login (url: string, from: string, username: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { ...BROWSER, 'x-forwarded-for': from, ...headers }, body: JSON.stringify({ username, password: 'wrong' }) })
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.json() as Record<string, unknown> }
}

/** Whether the router saw the request: Fastify logs every request it handles at info. */
const routed = (lines: string[], requestId: string) => lines.some(l => l.includes(requestId) && l.includes('incoming request'))

/** Two failures, then the refusal that the block cache remembers. */
async function exhaust (url: string, from: string) {
  for (let i = 0; i < 2; i++) expect((await login(url, from, `u${i}`)).status).toBe(401)
  expect((await login(url, from, 'u2')).status).toBe(429)
}

const VARYING = new Set(['date', 'x-request-id', 'content-length', 'connection', 'keep-alive', 'transfer-encoding'])
const stable = (headers: Record<string, string | string[] | number | undefined>) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => !VARYING.has(k)).map(([k, v]) => [k, String(v).replace(/t=\d+/, 't=N').replace(/^\d+$/, 'N')]))

describe('refusals below the router', () => {
  it('answer an address already refused exactly as the pipeline does, without the router', async () => {
    const { app, url, log } = await listening()
    await exhaust(url, '203.0.113.40')

    const early = await login(url, '203.0.113.40', 'victim')
    expect(early.status).toBe(429)
    expect(early.body).toMatchObject({ code: 'too_many_attempts', title: '尝试次数过多', instance: '/auth/login', requestId: early.headers['x-request-id'] })
    expect(routed(log.lines, String(early.headers['x-request-id']))).toBe(false)
    expect(log.lines.some(l => l.includes(String(early.headers['x-request-id'])) && l.includes('request refused'))).toBe(true)

    // The router's answer to the same request: the same status, headers and document.
    const viaRouter = await app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '203.0.113.40', headers: BROWSER, payload: JSON.stringify({ username: 'victim', password: 'wrong' }) })
    expect(viaRouter.statusCode).toBe(429)
    expect(stable(early.headers)).toEqual(stable(viaRouter.headers))
    const { requestId: _a, retryAfter: earlyWait, ...earlyRest } = early.body
    const { requestId: _b, retryAfter: routerWait, ...routerRest } = viaRouter.json() as Record<string, unknown>
    expect(earlyRest).toEqual(routerRest)
    expect(Math.abs(Number(earlyWait) - Number(routerWait))).toBeLessThanOrEqual(1)
  })

  it('keep the pipeline\'s books: metrics, and the decision log line', async () => {
    const { app, url, log } = await listening()
    await exhaust(url, '203.0.113.41')
    const early = await login(url, '203.0.113.41', 'victim')
    expect(early.status).toBe(429)
    expect(routed(log.lines, String(early.headers['x-request-id']))).toBe(false)

    const decisions = (await app.inject({ url: '/admin/decisions?limit=1', headers: { authorization: `Bearer ${ADMIN}` } })).json().decisions
    expect(decisions[0]).toMatchObject({ requestId: early.headers['x-request-id'], beforeBody: true, limit: 'ip_attempts', outcome: 'too_many_attempts', user: '', features: { ip: '203.0.113.41' } })
    const metrics = (await app.inject({ url: '/metrics' })).body
    // Two refusals: the one that blocked the address (through the router), then this one.
    expect(metrics).toMatch(/lg_http_requests_total\{route="\/auth\/login",method="POST",status="429",code="too_many_attempts"\} 2\b/)
    expect(metrics).toMatch(/lg_logins_total\{outcome="too_many_attempts"\} 2\b/)
    expect(metrics).toMatch(/lg_http_request_duration_seconds_count\{route="\/auth\/login"\} 4\b/)
    expect(metrics).toMatch(/lg_limit_block_cache_hits_total\{limit="ip_attempts"\} 1\b/)
  })

  it('leave to the router a device token, another route, and an address not refused', async () => {
    const { url, log } = await listening()
    await exhaust(url, '203.0.113.42')
    // A device token may hold the request to other budgets: the router reads the body to know.
    const withCookie = await login(url, '203.0.113.42', 'victim', { cookie: 'lang=zh; did=v1.token.sig' })
    expect(routed(log.lines, String(withCookie.headers['x-request-id']))).toBe(true)
    const withHeader = await login(url, '203.0.113.42', 'victim', { 'x-device-token': 'v1.token.sig' })
    expect(routed(log.lines, String(withHeader.headers['x-request-id']))).toBe(true)
    const other = await login(url, '203.0.113.43', 'someone')
    expect(other.status).toBe(401)
    expect(routed(log.lines, String(other.headers['x-request-id']))).toBe(true)
  })

  it('let maintenance answer first, as admission does', async () => {
    const { app, url, log } = await listening()
    await exhaust(url, '203.0.113.44')
    await setMaintenance(app)
    const during = await login(url, '203.0.113.44', 'victim')
    expect(during.status).toBe(503)
    expect(during.body.code).toBe('maintenance')
    expect(routed(log.lines, String(during.headers['x-request-id']))).toBe(true)
  })

  it('take the client address as the router does: X-Forwarded-For only from a trusted proxy', async () => {
    const { url } = await listening({ TRUST_PROXY: 'false' })
    // Untrusted, the header is ignored: every request is the loopback peer's.
    await exhaust(url, '203.0.113.45')
    const forged = await login(url, '198.51.100.1', 'victim')
    expect(forged.status).toBe(429)
    expect(forged.body.code).toBe('too_many_attempts')
  })
})

async function setMaintenance (app: FastifyInstance) {
  const res = await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: { authorization: `Bearer ${ADMIN}` }, payload: { until: new Date(Date.now() + 60_000).toISOString() } })
  expect(res.statusCode).toBe(200)
}
