// Refusals answered below the router (src/pipeline/early-refusals.ts): over a real socket, a
// request from an address already refused gets the pipeline's own answer, metrics and decision
// line without going through Fastify; what the pipeline might answer otherwise goes through it.
// app.inject never passes the server's request listener, so it shows what the router answers.
import { fileURLToPath } from 'node:url'
import { type FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { type BackendScript, fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { buildTestApp, capturedLogger } from '../helpers/test-app.js'

const ADMIN = 'early-refusals-admin-0123456789ab'
const BROWSER = {
  'content-type': 'application/json',
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'accept-language': 'zh-CN,zh;q=0.9'
}

async function listening (env: Record<string, string> = {}, script?: BackendScript) {
  const backend = await fakeBackendForTest(script)
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
/** A problem document without what differs between two answers a second apart. */
const comparable = ({ requestId: _id, retryAfter: _wait, ...rest }: Record<string, unknown>) =>
  ({ ...rest, detail: String(rest.detail).replace(/\d+/g, 'N') })

/** The decision line of an answer. */
async function decisionOf (app: FastifyInstance, requestId: unknown) {
  const decisions = (await app.inject({ url: '/admin/decisions?limit=50', headers: { authorization: `Bearer ${ADMIN}` } })).json().decisions as Array<Record<string, unknown>>
  return decisions.find(d => d.requestId === requestId)
}

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
    expect(comparable(early.body)).toEqual(comparable(viaRouter.json()))
    expect(Math.abs(Number(early.body.retryAfter) - Number(viaRouter.json().retryAfter))).toBeLessThanOrEqual(1)
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

  it('refuse what the rules decide from the headers alone, with the router\'s answer', async () => {
    const { app, url, log } = await listening({ RULES_FILE: BOT_RULES })
    const bot = await login(url, '203.0.113.47', 'victim', { 'user-agent': 'python-requests/2.31.0' })
    expect(bot.status).toBe(403)
    expect(bot.body).toMatchObject({ code: 'request_blocked' })
    expect(routed(log.lines, String(bot.headers['x-request-id']))).toBe(false)
    expect(await decisionOf(app, bot.headers['x-request-id'])).toMatchObject({ early: true, beforeBody: true, verdict: { action: 'block', ruleId: 'scripts' }, outcome: 'request_blocked' })
    const viaRouter = await app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '203.0.113.47', headers: { ...BROWSER, 'user-agent': 'python-requests/2.31.0' }, payload: '{}' })
    expect(viaRouter.statusCode).toBe(403)
    expect(stable(bot.headers)).toEqual(stable(viaRouter.headers))
    expect(comparable(bot.body)).toEqual(comparable(viaRouter.json()))
  })

  it('leave to the router a refused address while no slot is free: admission answers first', async () => {
    const { url, log } = await listening({ ADMISSION_MAX_CONCURRENT: '1', ADMISSION_RESERVED_CRITICAL: '0', ADMISSION_MAX_WAIT_MS: '0' }, call =>
      call.username === 'slow' ? { hang: true } : { status: 401 })
    await exhaust(url, '203.0.113.48')
    login(url, '198.51.100.9', 'slow').catch(() => undefined) // holds the one slot until the app closes
    await new Promise(resolve => setTimeout(resolve, 100))
    const shed = await login(url, '203.0.113.48', 'victim')
    expect(shed.status).toBe(503)
    expect(shed.body.code).toBe('overloaded')
    expect(routed(log.lines, String(shed.headers['x-request-id']))).toBe(true)
  })

  it('take the client address as the router does, for every kind of TRUST_PROXY', async () => {
    const cases = [
      // Untrusted, the header is ignored: the client is the loopback peer.
      { trust: 'false', forwarded: '203.0.113.45', client: '127.0.0.1' },
      { trust: 'true', forwarded: '192.0.2.1, 203.0.113.45', client: '192.0.2.1' },
      // Trusted proxies are skipped from the right; the first untrusted address is the client.
      { trust: '127.0.0.0/8,10.0.0.0/8', forwarded: '192.0.2.1, 203.0.113.45, 10.1.2.3', client: '203.0.113.45' },
      { trust: '2', forwarded: '192.0.2.1, 198.51.100.3, 203.0.113.45', client: '198.51.100.3' },
      { trust: 'true', forwarded: '2001:db8:0:1::7', client: '2001:db8:0:1::7' }
    ]
    for (const c of cases) {
      const { app, url, log } = await listening({ TRUST_PROXY: c.trust })
      const first = await login(url, c.forwarded, 'u0')
      for (let i = 1; i < 3; i++) await login(url, c.forwarded, `u${i}`)
      const early = await login(url, c.forwarded, 'victim')
      expect(early.status, c.trust).toBe(429)
      expect(routed(log.lines, String(early.headers['x-request-id'])), c.trust).toBe(false)
      // The router found the same client for the first attempt, and both are the expected one.
      expect((await decisionOf(app, first.headers['x-request-id']))?.features, c.trust).toMatchObject({ ip: c.client })
      expect((await decisionOf(app, early.headers['x-request-id']))?.features, c.trust).toMatchObject({ ip: c.client })
      await app.close()
    }
  })
})

const BOT_RULES = fileURLToPath(new URL('../fixtures/rules/block-scripts.yaml', import.meta.url))

async function setMaintenance (app: FastifyInstance) {
  const res = await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: { authorization: `Bearer ${ADMIN}` }, payload: { until: new Date(Date.now() + 60_000).toISOString() } })
  expect(res.statusCode).toBe(200)
}
