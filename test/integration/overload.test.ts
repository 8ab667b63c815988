import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { type FastifyInstance } from 'fastify'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type BackendScript, directory, fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { webhookProvider, webhookSink } from '../helpers/otp-webhook-sink.js'
import { roundTripRelay } from '../helpers/redis-probe.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { buildTestApp, jsonLogin } from '../helpers/test-app.js'

const ADMIN = 'overload-admin-token-0123456789'
const admin = { authorization: `Bearer ${ADMIN}` }

/** A seeded generator: re-admission draws are random, but a test must be repeatable. */
function seeded (seed = 42): () => number {
  let s = seed
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31
    return s / 2 ** 31
  }
}

async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const started = performance.now()
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const json = await res.json() as Record<string, unknown>
  return { status: res.status, json, retryAfter: res.headers.get('retry-after'), ms: performance.now() - started }
}

describe('admission control', () => {
  it('sheds a login flood at once with jittered Retry-After, while OTP verification and session checks go through', async () => {
    const slowLogins: BackendScript = call => ({ ...directory(call), delayMs: 400 } as ReturnType<BackendScript>)
    const backend = await fakeBackendForTest(call => call.username === 'bob' ? directory(call) : slowLogins(call))
    const sms = await webhookSink()
    const app = await buildTestApp({
      env: {
        AUTH_BACKEND_URL: backend.url,
        ADMISSION_MAX_CONCURRENT: '6',
        ADMISSION_RESERVED_CRITICAL: '3',
        ADMISSION_MAX_WAIT_MS: '20',
        OTP_PROVIDERS: JSON.stringify([webhookProvider('sms1', sms, ['sms'], 1)])
      },
      random: seeded()
    })
    const base = await listen(app)
    // Before the flood: one user signed in, one half-way through a second factor.
    const token = (await post(`${base}/auth/login`, { username: 'alice', password: 'right-pass' })).json.token as string
    const challengeId = (await post(`${base}/auth/login`, { username: 'bob', password: 'bob-pass' })).json.challengeId as string
    await post(`${base}/auth/otp/send`, { challengeId })

    const flood = Array.from({ length: 40 }, () => post(`${base}/auth/login`, { username: 'alice', password: 'right-pass' }))
    await sleep(50)
    const session = await fetch(`${base}/auth/session`, { headers: { authorization: `Bearer ${token}` } })
    const verified = await post(`${base}/auth/otp/verify`, { challengeId, code: sms.delivered[0]?.code })
    const answers = await Promise.all(flood)

    expect(session.status).toBe(200)
    expect(verified.status).toBe(200)
    const shed = answers.filter(a => a.status === 503)
    expect(shed.length).toBeGreaterThan(25)
    expect(answers.filter(a => a.status === 200).length).toBeGreaterThanOrEqual(3)
    expect(new Set(answers.map(a => a.status))).toEqual(new Set([200, 503]))
    for (const a of shed) {
      expect(a.json.code).toBe('overloaded')
      expect(a.ms).toBeLessThan(300) // refused early, not after the backend's 400 ms
    }
    expect(new Set(shed.map(a => a.retryAfter)).size).toBeGreaterThan(1)
  })

  it('gives back the slot of a client that gave up while waiting for one', async () => {
    const backend = await fakeBackendForTest(call => ({ ...directory(call), delayMs: 300 } as ReturnType<BackendScript>))
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ADMISSION_MAX_CONCURRENT: '2', ADMISSION_RESERVED_CRITICAL: '0', ADMISSION_MAX_WAIT_MS: '1000' } })
    const base = await listen(app)
    const holders = [post(`${base}/auth/login`, { username: 'alice', password: 'right-pass' }), post(`${base}/auth/login`, { username: 'alice', password: 'right-pass' })]
    await sleep(50)
    const quitters = Array.from({ length: 4 }, () => {
      const controller = new AbortController()
      const request = fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'right-pass' }), signal: controller.signal }).catch(() => undefined)
      setTimeout(() => controller.abort(), 100)
      return request
    })
    await Promise.all([...holders, ...quitters])
    await sleep(1200)
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/lg_admission_in_flight 0/)
    expect((await post(`${base}/auth/login`, { username: 'alice', password: 'right-pass' })).status).toBe(200)
  })

  it('sheds new logins, not session checks, while the event loop is overloaded', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '20' } })
    const token = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string
    // Keep the loop busy in 60 ms slices for over a second: the delay's mean passes 20 ms.
    const until = Date.now() + 1300
    while (Date.now() < until) {
      const sliceEnd = Date.now() + 60
      while (Date.now() < sliceEnd) { /* busy */ }
      await new Promise(resolve => setImmediate(resolve))
    }
    const login = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(login.statusCode).toBe(503)
    expect(login.json()).toMatchObject({ code: 'overloaded' })
    expect((await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200)
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200)
  })
})

describe('maintenance', () => {
  async function maintenanceApp (env: Record<string, string> = {}) {
    const backend = await fakeBackendForTest()
    const clock = { now: Date.parse('2026-11-22T08:00:00Z') }
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: ADMIN, ...env }, now: () => clock.now, random: seeded(7) })
    return { app, clock, backend }
  }
  const at = (iso: string) => Date.parse(iso)

  it('starts and ends on schedule, answers maintenance with until and Retry-After, and keeps sessions valid', async () => {
    const { app, clock, backend } = await maintenanceApp({ SESSION_IDLE_TIMEOUT_S: '14400' })
    const token = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string
    const set = await app.inject({
      method: 'PUT',
      url: '/admin/maintenance',
      headers: admin,
      payload: { from: '2026-11-22T09:00:00Z', until: '2026-11-22T10:00:00Z', message: { en: 'Moving to a new data centre.', 'zh-CN': '正在迁移机房。' } }
    })
    expect(set.json()).toMatchObject({ phase: 'scheduled', until: '2026-11-22T10:00:00.000Z' })
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)

    clock.now = at('2026-11-22T09:30:00Z')
    const callsBefore = backend.calls()
    const refused = await app.inject(jsonLogin('alice', 'right-pass', { 'accept-language': 'zh-CN' }))
    expect(refused.statusCode).toBe(503)
    expect(refused.headers['retry-after']).toBe('1800')
    expect(refused.json()).toMatchObject({ code: 'maintenance', until: '2026-11-22T10:00:00.000Z', retryAfter: 1800 })
    expect(refused.json().detail).toBe('登录服务维护中，预计 2026-11-22T10:00:00.000Z 恢复。正在迁移机房。')
    expect(backend.calls()).toBe(callsBefore)
    expect((await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200)
    expect((await app.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'maintenance', checks: { maintenance: 'active' } })
    expect((await app.inject({ url: '/metrics' })).body).toContain('lg_maintenance_active 1')

    clock.now = at('2026-11-22T10:30:00Z')
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)
  })

  it('can block session checks too, when configured', async () => {
    const { app, clock } = await maintenanceApp({ MAINTENANCE_BLOCKS_SESSIONS: 'true', MAINTENANCE_FROM: '2026-11-22T09:00:00Z', MAINTENANCE_UNTIL: '2026-11-22T10:00:00Z' })
    const token = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string
    clock.now = at('2026-11-22T09:10:00Z')
    const check = await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })
    expect(check.json()).toMatchObject({ code: 'maintenance', until: '2026-11-22T10:00:00.000Z' })
  })

  it('re-admits the returning crowd in waves when maintenance ends, with spread-out Retry-After', async () => {
    const { app, clock } = await maintenanceApp({ READMISSION_DURATION_S: '100', READMISSION_START_PERCENT: '10', SESSION_MAX_PER_USER: '1000' })
    clock.now = at('2026-11-22T09:00:00Z')
    await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: admin, payload: { until: '2026-11-22T09:30:00Z' } })
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('maintenance')

    const wave = async () => {
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => app.inject({ ...jsonLogin('alice', 'right-pass'), remoteAddress: `10.1.${i}.1` })))
      return { admitted: answers.filter(a => a.statusCode === 200).length, retryAfters: answers.filter(a => a.statusCode === 503).map(a => Number(a.headers['retry-after'])) }
    }
    clock.now = at('2026-11-22T09:30:00Z')
    const first = await wave()
    expect(first.admitted).toBeLessThan(18) // about 10%
    expect(new Set(first.retryAfters).size).toBeGreaterThan(10)
    expect(Math.max(...first.retryAfters)).toBeLessThanOrEqual(100)
    expect((await app.inject({ url: '/readyz' })).json().checks.readmissionShare).toBeCloseTo(0.1)

    clock.now = at('2026-11-22T09:30:50Z')
    const middle = await wave()
    expect(middle.admitted).toBeGreaterThan(20)
    expect(middle.admitted).toBeLessThan(50) // about 55%
    expect(Math.max(...middle.retryAfters)).toBeLessThanOrEqual(50)

    clock.now = at('2026-11-22T09:31:41Z')
    expect((await wave()).admitted).toBe(60)
  })

  it('ends at once through the admin API, which starts re-admission', async () => {
    const { app, clock } = await maintenanceApp({ READMISSION_DURATION_S: '60' })
    await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: admin, payload: { until: '2026-11-22T12:00:00Z' } })
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('maintenance')
    clock.now += 10_000
    expect((await app.inject({ method: 'DELETE', url: '/admin/maintenance', headers: admin })).json()).toMatchObject({ phase: 'ended' })
    expect((await app.inject({ url: '/readyz' })).json().checks.readmissionShare).toBeCloseTo(0.1)
  })

  it('ends or calls off a window from the configuration, for good', async () => {
    const { app, clock } = await maintenanceApp({ MAINTENANCE_FROM: '2026-11-22T09:00:00Z', MAINTENANCE_UNTIL: '2026-11-22T11:00:00Z', READMISSION_DURATION_S: '0' })
    expect((await app.inject({ method: 'DELETE', url: '/admin/maintenance', headers: admin })).json().phase).toBe('none') // called off
    clock.now = at('2026-11-22T10:00:00Z')
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)

    const other = await maintenanceApp({ MAINTENANCE_UNTIL: '2026-11-22T11:00:00Z', READMISSION_DURATION_S: '0' })
    expect((await other.app.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('maintenance')
    expect((await other.app.inject({ method: 'DELETE', url: '/admin/maintenance', headers: admin })).json().phase).toBe('ended')
    other.clock.now = at('2026-11-22T10:30:00Z')
    expect((await other.app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)
  })

  it('answers 503, not 500, and changes nothing when Redis is down', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: ADMIN, REDIS_URL: redis.url } })
    await redis.kill()
    const put = await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: admin, payload: { until: new Date(Date.now() + 600_000).toISOString() } })
    expect(put.statusCode).toBe(503)
    expect(put.json().code).toBe('session_store_unavailable')
    expect((await app.inject({ url: '/admin/maintenance', headers: admin })).json().phase).toBe('none')
  })

  it('is shared by replicas through Redis', async () => {
    const backend = await fakeBackendForTest()
    const env = { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: ADMIN, REDIS_KEY_PREFIX: `t:mnt${Date.now()}:` }
    const [a, b] = [await buildTestApp({ env }), await buildTestApp({ env })]
    await a?.inject({ method: 'PUT', url: '/admin/maintenance', headers: admin, payload: { until: new Date(Date.now() + 600_000).toISOString() } })
    let seen = false
    for (let i = 0; i < 30 && !seen; i++) {
      await sleep(100)
      seen = (await b?.inject(jsonLogin('alice', 'right-pass')))?.json().code === 'maintenance'
    }
    expect(seen).toBe(true)
  })

  it('is ended by a replica that has not read the window yet', async () => {
    const backend = await fakeBackendForTest()
    const env = { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: ADMIN, REDIS_KEY_PREFIX: `t:mnt${randomUUID().slice(0, 8)}:` }
    const [a, b] = [await buildTestApp({ env }), await buildTestApp({ env })]
    await a.inject({ method: 'PUT', url: '/admin/maintenance', headers: admin, payload: { until: new Date(Date.now() + 600_000).toISOString() } })
    expect((await a.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('maintenance')
    // At once, before b's once-a-second read of the window: b ends it all the same.
    expect((await b.inject({ method: 'DELETE', url: '/admin/maintenance', headers: admin })).json()).toMatchObject({ phase: 'ended' })
    let over = false
    for (let i = 0; i < 30 && !over; i++) {
      await sleep(100)
      over = (await a.inject(jsonLogin('alice', 'right-pass'))).statusCode === 200
    }
    expect(over).toBe(true)
  })

  it('answers 503 and ends nothing when Redis is down', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: ADMIN, REDIS_URL: redis.url } })
    await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: admin, payload: { until: new Date(Date.now() + 600_000).toISOString() } })
    await redis.kill()
    const end = await app.inject({ method: 'DELETE', url: '/admin/maintenance', headers: admin })
    expect(end.statusCode).toBe(503)
    expect(end.json()).toMatchObject({ code: 'session_store_unavailable', retryAfter: 2 })
    expect((await app.inject({ url: '/admin/maintenance', headers: admin })).json().phase).toBe('active')
  })

  it('refuses a window that is already over or backwards', async () => {
    const { app } = await maintenanceApp()
    const past = await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: admin, payload: { until: '2026-11-22T07:00:00Z' } })
    expect(past.json()).toMatchObject({ code: 'invalid_request', errors: [{ field: 'until' }] })
    const backwards = await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: admin, payload: { from: '2026-11-22T11:00:00Z', until: '2026-11-22T10:00:00Z' } })
    expect(backwards.json()).toMatchObject({ code: 'invalid_request', errors: [{ field: 'from' }] })
  })
})

describe('re-admission after a backend outage', () => {
  it('ramps new logins up after the breaker closes, turning the rest away at spread-out times', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 500 }))
    const app = await buildTestApp({
      env: { AUTH_BACKEND_URL: backend.url, BREAKER_VOLUME_THRESHOLD: '3', BREAKER_RESET_TIMEOUT_MS: '200', READMISSION_DURATION_S: '30', READMISSION_START_PERCENT: '10' },
      random: seeded(3)
    })
    for (let i = 0; i < 3; i++) await app.inject(jsonLogin('alice', 'right-pass'))
    backend.script(directory)
    await sleep(250)
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200) // the probe closes the breaker
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => app.inject({ ...jsonLogin('alice', 'right-pass'), remoteAddress: `10.2.${i}.1` })))
    const shed = answers.filter(a => a.statusCode === 503)
    expect(shed.length).toBeGreaterThan(25)
    expect(shed.every(a => a.json().code === 'overloaded')).toBe(true)
    expect(new Set(shed.map(a => a.headers['retry-after'])).size).toBeGreaterThan(8)
  })
})

describe('backend brownout', () => {
  it('opens the breaker on slow answers, though each was answered', async () => {
    const backend = await fakeBackendForTest(call => ({ ...directory(call), delayMs: 120 } as ReturnType<BackendScript>))
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, AUTH_BACKEND_SLOW_MS: '80', BREAKER_SLOW_CALL_PERCENT: '50', BREAKER_VOLUME_THRESHOLD: '4', BREAKER_RESET_TIMEOUT_MS: '60000' } })
    for (let i = 0; i < 4; i++) expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)
    const calls = backend.calls()
    const refused = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(refused.json()).toMatchObject({ code: 'auth_unavailable' })
    expect(backend.calls()).toBe(calls)
    expect((await app.inject({ url: '/readyz' })).json().checks.authBackend).toBe('open')
  })

  it('does not reopen on slow calls that were already in flight when it opened', async () => {
    let delayMs = 300
    const backend = await fakeBackendForTest(call => ({ ...directory(call), delayMs } as ReturnType<BackendScript>))
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, AUTH_BACKEND_SLOW_MS: '100', BREAKER_SLOW_CALL_PERCENT: '50', BREAKER_VOLUME_THRESHOLD: '4', BREAKER_RESET_TIMEOUT_MS: '200', READMISSION_DURATION_S: '0' } })
    // Twelve slow calls at once: the first to finish open the breaker, the rest finish after.
    await Promise.all(Array.from({ length: 12 }, (_, i) => app.inject({ ...jsonLogin('alice', 'right-pass'), remoteAddress: `10.3.${i}.1` })))
    expect((await app.inject({ url: '/readyz' })).json().checks.authBackend).toBe('open')
    delayMs = 0 // the backend recovers
    await sleep(250)
    for (let i = 0; i < 6; i++) expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200) // the probe, then normal calls
    expect((await app.inject({ url: '/readyz' })).json().checks.authBackend).toBe('closed')
  })

  it('never multiplies load with retries: a retry budget caps them', async () => {
    const backend = await fakeBackendForTest(() => ({ destroy: true }))
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, BREAKER_VOLUME_THRESHOLD: '1000', AUTH_BACKEND_RETRY_BUDGET_PERCENT: '10' } })
    for (let i = 0; i < 40; i++) expect((await app.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('auth_unavailable')
    expect(backend.calls()).toBeGreaterThan(40) // some retries happened...
    expect(backend.calls()).toBeLessThanOrEqual(44) // ...but no more than 10% of the traffic
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/lg_auth_backend_retries_total\{outcome="over_budget"\} [1-9]/)
  })
})

describe('Redis outage under load', () => {
  it('gives zero 500s, keeps signed-in users valid within the grace period, refuses new logins, and recovers by itself', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, REDIS_URL: redis.url, SESSION_GRACE_S: '2' } })
    const tokens: string[] = []
    for (let i = 0; i < 3; i++) {
      const token = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string
      await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } }) // seen recently
      tokens.push(token)
    }
    const base = await listen(app)

    await redis.kill()
    const statuses: number[] = []
    const sessionChecks: number[] = []
    const logins: string[] = []
    const until = Date.now() + 1000
    while (Date.now() < until) {
      const batch = await Promise.all([
        post(`${base}/auth/login`, { username: 'alice', password: 'right-pass' }),
        ...tokens.map(t => fetch(`${base}/auth/session`, { headers: { authorization: `Bearer ${t}` } }))
      ])
      const [login, ...checks] = batch as [Awaited<ReturnType<typeof post>>, ...Response[]]
      statuses.push(login.status, ...checks.map(c => c.status))
      logins.push(String(login.json.code))
      sessionChecks.push(...checks.map(c => c.status))
      await Promise.all(checks.map(c => c.arrayBuffer()))
    }
    expect(statuses.length).toBeGreaterThan(20)
    expect(statuses.some(s => s >= 500 && s !== 503)).toBe(false)
    expect(new Set(sessionChecks)).toEqual(new Set([200]))
    expect(new Set(logins)).toEqual(new Set(['session_store_unavailable']))
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/lg_session_grace_hits_total [1-9]/)

    // A logout during the outage: refused here at once; Redis hears of it when it returns.
    const out = await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${tokens[0]}` } })
    expect(out.json().code).toBe('session_store_unavailable')
    expect((await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${tokens[0]}` } })).json().code).toBe('session_invalid')

    await sleep(1100) // past the grace period
    expect((await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${tokens[1]}` } })).statusCode).toBe(503)

    await redis.restart() // a fresh, empty Redis: the old sessions are gone with it
    let loginWorks = false
    for (let i = 0; i < 50 && !loginWorks; i++) {
      await sleep(100)
      loginWorks = (await app.inject(jsonLogin('alice', 'right-pass'))).statusCode === 200
    }
    expect(loginWorks).toBe(true)
    expect((await app.inject({ url: '/readyz' })).json().checks.redis).toBe('ok')
  })

  it('refuses a logout made during the outage at once and for good, and replays it to the other replicas once Redis is back', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const relay = await roundTripRelay(redis.port) // cut the way to Redis without losing its data
    const backend = await fakeBackendForTest(call => call.username === 'carol' ? { status: 200, body: { userId: 'u-carol' } } : directory(call))
    const shared = { AUTH_BACKEND_URL: backend.url, SESSION_GRACE_S: '30', REDIS_KEY_PREFIX: `t:${randomUUID().slice(0, 8)}:` }
    const app = await buildTestApp({ env: { ...shared, REDIS_URL: relay.url } })
    const other = await buildTestApp({ env: { ...shared, REDIS_URL: redis.url } }) // a replica that never loses Redis
    const tokenFor = async (username: string, password: string) => (await app.inject(jsonLogin(username, password))).json().token as string
    const [kept, leaving, carolHere, carolToo] = [await tokenFor('alice', 'right-pass'), await tokenFor('alice', 'right-pass'), await tokenFor('carol', 'pw'), await tokenFor('carol', 'pw')]
    const check = async (on: FastifyInstance, token: string) => (await on.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })).statusCode

    await relay.cut()
    expect((await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${leaving}` } })).statusCode).toBe(503)
    expect((await app.inject({ method: 'POST', url: '/auth/logout?all=true', headers: { authorization: `Bearer ${carolHere}` } })).statusCode).toBe(503)
    expect(await check(app, leaving)).toBe(401) // refused here at once
    expect(await check(app, carolToo)).toBe(503) // dropped from the copy: not served until Redis says
    expect(await check(app, kept)).toBe(200) // still in grace
    const carolSince = (await other.inject(jsonLogin('carol', 'pw'))).json().token as string // opened after "log out everywhere"

    await relay.restore()
    for (let i = 0; i < 50 && (await app.inject({ url: '/readyz' })).json().checks.redis !== 'ok'; i++) await sleep(100)
    // The first checks after the outage: a revoked token must not come back, nor be cached again.
    expect(await check(app, leaving)).toBe(401)
    expect(await check(app, carolToo)).toBe(401)
    // Those checks replayed the queue first: the other replica learns of the revocations from Redis.
    expect(await check(other, leaving)).toBe(401)
    expect(await check(other, carolToo)).toBe(401)
    expect(await check(other, carolHere)).toBe(401)
    expect(await check(other, carolSince)).toBe(200) // "everywhere" meant the sessions open at the time
    expect(await check(app, kept)).toBe(200)
    expect(await check(other, kept)).toBe(200)
  })

  it('replays a logout made during the outage by a timer, without any check on this replica', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const relay = await roundTripRelay(redis.port)
    const backend = await fakeBackendForTest()
    const shared = { AUTH_BACKEND_URL: backend.url, SESSION_GRACE_S: '30', REDIS_KEY_PREFIX: `t:${randomUUID().slice(0, 8)}:` }
    const app = await buildTestApp({ env: { ...shared, REDIS_URL: relay.url } })
    const other = await buildTestApp({ env: { ...shared, REDIS_URL: redis.url } })
    const leaving = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string
    await relay.cut()
    expect((await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${leaving}` } })).statusCode).toBe(503)
    await relay.restore()
    let replayed = false
    for (let i = 0; i < 50 && !replayed; i++) {
      await sleep(100)
      replayed = (await other.inject({ url: '/auth/session', headers: { authorization: `Bearer ${leaving}` } })).statusCode === 401
    }
    expect(replayed).toBe(true)
  })
})
