import { describe, expect, it, onTestFinished } from 'vitest'
import { startDemoBackend } from '../../src/demo/demo-backend.js'
import { createDemoFaults } from '../../src/demo/demo-faults.js'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { buildTestApp, jsonLogin } from '../helpers/test-app.js'

describe('health and metrics', () => {
  it('reports liveness and readiness with Redis and breaker state', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url } })
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' })
    const ready = await app.inject({ url: '/readyz' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', authBackend: 'closed', maintenance: 'none', readmissionShare: 1 } })
  })

  it('counts requests by route, status and problem code, and exposes backend latency and breaker state', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url } })
    await app.inject(jsonLogin('alice', 'right-pass'))
    await app.inject(jsonLogin('alice', 'wrong'))
    await app.inject(jsonLogin('alice', 'wrong'))
    await app.inject({ url: '/nowhere' })
    const res = await app.inject({ url: '/metrics' })
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    const text = res.body
    expect(text).toContain('lg_http_requests_total{route="/auth/login",method="POST",status="200",code=""} 1')
    expect(text).toContain('lg_http_requests_total{route="/auth/login",method="POST",status="401",code="invalid_credentials"} 2')
    expect(text).toContain('lg_http_requests_total{route="unmatched",method="GET",status="404",code="not_found"} 1')
    expect(text).toContain('lg_logins_total{outcome="authenticated"} 1')
    expect(text).toContain('lg_logins_total{outcome="invalid_credentials"} 2')
    expect(text).toContain('lg_auth_backend_request_duration_seconds_count{outcome="ok"} 1')
    expect(text).toContain('lg_auth_backend_request_duration_seconds_count{outcome="invalid_credentials"} 2')
    expect(text).toContain('lg_breaker_state{breaker="auth_backend",state="closed"} 1')
    expect(text).toContain('lg_sessions_issued_total 1')
  })

  it('shows the admin status with the admin token', async () => {
    const backend = await fakeBackendForTest()
    const token = 'an-admin-token-of-sufficient-length'
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: token } })
    const res = await app.inject({ url: '/admin/status', headers: { authorization: `Bearer ${token}` } })
    expect(res.json()).toMatchObject({ mode: 'production', version: expect.stringMatching(/^\d+\.\d+\.\d+/), redis: 'ok', breakers: { authBackend: 'closed' } })
    expect((await app.inject({ url: '/admin/status' })).json().code).toBe('admin_token_invalid')
  })
})

describe('the demo outbox', () => {
  it('shows what the demo providers sent, in demo mode only', async () => {
    const backend = await fakeBackendForTest()
    const demo = await buildTestApp({ env: { REDIS_URL: '' }, authBackendUrl: backend.url })
    const { challengeId } = (await demo.inject(jsonLogin('bob', 'bob-pass'))).json() as { challengeId: string }
    await demo.inject({ method: 'POST', url: '/auth/otp/send', payload: { challengeId, channel: 'email' } })
    const outbox = (await demo.inject({ url: '/demo/outbox' })).json()
    expect(outbox.messages).toHaveLength(1)
    expect(outbox.messages[0]).toMatchObject({ provider: 'demo-email', channel: 'email', to: 'bob@example.com' })
    expect(outbox.messages[0].text).toMatch(/\d{6}/)

    const production = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url } })
    expect((await production.inject({ url: '/demo/outbox' })).statusCode).toBe(404)
  })
})

describe('demo fault switches', () => {
  it('take the backend down, an SMS provider down, and maintenance on, and back', async () => {
    const faults = createDemoFaults()
    const demoBackend = await startDemoBackend('127.0.0.1', 0, faults)
    onTestFinished(() => demoBackend.close())
    const app = await buildTestApp({ env: { REDIS_URL: '', BREAKER_VOLUME_THRESHOLD: '1000' }, authBackendUrl: demoBackend.url, demoFaults: faults })
    const put = (body: Record<string, unknown>) => app.inject({ method: 'PUT', url: '/demo/faults', payload: body })

    expect((await put({ backend: 'down' })).json()).toMatchObject({ backend: 'down' })
    expect((await app.inject(jsonLogin('alice', 'alice-demo-pass'))).json().code).toBe('auth_unavailable')
    await put({ backend: 'up' })
    expect((await app.inject(jsonLogin('alice', 'alice-demo-pass'))).statusCode).toBe(200)

    await put({ providersDown: ['demo-sms'] })
    const first = (await app.inject(jsonLogin('bob', 'bob-demo-pass'))).json().challengeId as string
    expect((await app.inject({ method: 'POST', url: '/auth/otp/send', payload: { challengeId: first } })).statusCode).toBe(200)
    expect((await app.inject({ url: '/demo/outbox' })).json().messages[0].provider).toBe('demo-sms-backup')

    const faultsNow = (await put({ providersDown: ['demo-sms', 'demo-sms-backup'] })).json()
    expect(faultsNow.providers.filter((p: { down: boolean }) => p.down).map((p: { name: string }) => p.name)).toEqual(['demo-sms', 'demo-sms-backup'])
    const second = (await app.inject(jsonLogin('bob', 'bob-demo-pass'))).json().challengeId as string
    expect((await app.inject({ method: 'POST', url: '/auth/otp/send', payload: { challengeId: second } })).json()).toMatchObject({ code: 'otp_delivery_failed', alternatives: ['voice', 'email'] })

    await put({ maintenance: true })
    expect((await app.inject(jsonLogin('alice', 'alice-demo-pass'))).json().code).toBe('maintenance')
    expect((await put({ maintenance: false })).json().maintenance).toBe(false)
    expect((await app.inject(jsonLogin('alice', 'alice-demo-pass'))).statusCode).toBe(200)
  })
})

describe('the demo auth backend', () => {
  it('speaks the backend contract for the demo users and refuses everyone else alike', async () => {
    const backend = await startDemoBackend()
    try {
      const verify = (username: string, password: string) => fetch(`${backend.url}/verify`, { method: 'POST', body: JSON.stringify({ username, password }) })
      const alice = await verify('alice', 'alice-demo-pass')
      expect(await alice.json()).toEqual({ userId: 'u-alice', contacts: { email: 'alice@example.com' } })
      const bob = await verify('bob', 'bob-demo-pass')
      expect(await bob.json()).toEqual({ userId: 'u-bob', mfa: { phone: '+8613812345678', email: 'bob@example.com' } })
      const wrong = await verify('alice', 'nope')
      const unknown = await verify('nobody', 'nope')
      expect([wrong.status, unknown.status]).toEqual([401, 401])
      expect(await wrong.text()).toBe(await unknown.text())
    } finally {
      await backend.close()
    }
  })
})

describe('client addresses', () => {
  async function ipSeenBy (trustProxy: string | undefined, headers: Record<string, string>, remoteAddress = '127.0.0.1') {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ...(trustProxy === undefined ? {} : { TRUST_PROXY: trustProxy }) } })
    app.get('/test/ip', async request => ({ ip: request.ip }))
    return (await app.inject({ url: '/test/ip', headers, remoteAddress })).json().ip as string
  }

  it('ignores X-Forwarded-For unless proxies are trusted', async () => {
    expect(await ipSeenBy(undefined, { 'x-forwarded-for': '203.0.113.9' })).toBe('127.0.0.1')
  })

  it('takes the client address from trusted proxies only', async () => {
    expect(await ipSeenBy('127.0.0.1/32', { 'x-forwarded-for': '203.0.113.9' })).toBe('203.0.113.9')
    expect(await ipSeenBy('10.0.0.0/8', { 'x-forwarded-for': '203.0.113.9' })).toBe('127.0.0.1')
    // A client behind a trusted proxy cannot push a fake address in front of its own.
    expect(await ipSeenBy('10.0.0.0/8', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' }, '10.1.2.3')).toBe('203.0.113.9')
  })

  it('trusts the nearest hops for a hop count, and every peer for true', async () => {
    expect(await ipSeenBy('1', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' })).toBe('203.0.113.9')
    expect(await ipSeenBy('true', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' })).toBe('198.51.100.1')
  })
})
