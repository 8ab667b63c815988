import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { directory, fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { buildTestApp, jsonLogin } from '../helpers/test-app.js'

const breakerEnv = (url: string) => ({
  AUTH_BACKEND_URL: url,
  BREAKER_VOLUME_THRESHOLD: '4',
  BREAKER_ERROR_THRESHOLD_PERCENT: '50',
  BREAKER_RESET_TIMEOUT_MS: '300'
})

async function breakerState (app: Awaited<ReturnType<typeof buildTestApp>>) {
  return (await app.inject({ url: '/readyz' })).json().checks.authBackend
}

describe('auth backend circuit breaker', () => {
  it('opens after the configured failures, answers without calling the backend, then closes after recovery', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 500 }))
    const app = await buildTestApp({ env: breakerEnv(backend.url) })

    for (let i = 0; i < 4; i++) {
      const res = await app.inject(jsonLogin('alice', 'right-pass'))
      expect(res.statusCode).toBe(503)
      expect(res.json()).toMatchObject({ code: 'auth_unavailable', retryAfter: 2 })
    }
    expect(backend.calls()).toBe(4)
    expect(await breakerState(app)).toBe('open')

    for (let i = 0; i < 10; i++) {
      const res = await app.inject(jsonLogin('alice', 'right-pass'))
      expect(res.statusCode).toBe(503)
      // The time to the probe (under a second here), plus up to 2 s of jitter.
      expect(['1', '2', '3']).toContain(res.headers['retry-after'])
      expect(res.json()).toMatchObject({ code: 'auth_unavailable', retryAfter: Number(res.headers['retry-after']) })
    }
    expect(backend.calls()).toBe(4)

    backend.script(directory)
    await sleep(350)
    const probe = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(probe.statusCode).toBe(200)
    expect(await breakerState(app)).toBe('closed')
    expect(backend.calls()).toBe(5)
  })

  it('stays open when the half-open probe fails', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 502 }))
    const app = await buildTestApp({ env: breakerEnv(backend.url) })
    for (let i = 0; i < 4; i++) await app.inject(jsonLogin('alice', 'right-pass'))
    await sleep(350)
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(503)
    expect(backend.calls()).toBe(5)
    expect(await breakerState(app)).toBe('open')
  })

  it('never opens on a flood of wrong passwords', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: breakerEnv(backend.url) })
    for (let i = 0; i < 40; i++) {
      expect((await app.inject(jsonLogin(`user${i}`, 'wrong'))).statusCode).toBe(401)
    }
    expect(await breakerState(app)).toBe('closed')
    expect(backend.calls()).toBe(40)
  })

  it('treats every 4xx of the backend as a wrong credential, not an outage', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 404 }))
    const app = await buildTestApp({ env: breakerEnv(backend.url) })
    for (let i = 0; i < 8; i++) expect((await app.inject(jsonLogin('alice', 'x'))).json().code).toBe('invalid_credentials')
    expect(await breakerState(app)).toBe('closed')
  })

  it('counts timeouts, dropped connections, refused connections and garbage answers as failures', async () => {
    let mode = 'hang'
    const backend = await fakeBackendForTest(() => {
      if (mode === 'hang') return { hang: true }
      if (mode === 'destroy') return { destroy: true }
      return { status: 200, body: { user: 'not the contract' } }
    })
    const app = await buildTestApp({ env: { ...breakerEnv(backend.url), AUTH_BACKEND_TIMEOUT_MS: '200', BREAKER_RESET_TIMEOUT_MS: '60000' } })

    const started = Date.now()
    const timedOut = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(timedOut.json().code).toBe('auth_unavailable')
    expect(Date.now() - started).toBeLessThan(1500)

    mode = 'destroy'
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('auth_unavailable')
    mode = 'garbage'
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('auth_unavailable')
    expect(await breakerState(app)).toBe('closed')
    await backend.refuse()
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('auth_unavailable')
    backend.releaseHung()
    // Four failures of four kinds: each counted, so the breaker opened.
    expect(await breakerState(app)).toBe('open')

    const metrics = (await app.inject({ url: '/metrics' })).body
    for (const outcome of ['timeout', 'connection', 'malformed']) {
      expect(metrics).toMatch(new RegExp(`lg_auth_backend_request_duration_seconds_count\\{outcome="${outcome}"\\} [1-9]`))
    }
  })

  it('times out an answer whose body stops halfway, and counts it as a timeout', async () => {
    const backend = await fakeBackendForTest(() => ({ stallBody: true }))
    const app = await buildTestApp({ env: { ...breakerEnv(backend.url), AUTH_BACKEND_TIMEOUT_MS: '200' } })
    const started = Date.now()
    const res = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(res.json().code).toBe('auth_unavailable')
    expect(Date.now() - started).toBeLessThan(1500)
    backend.releaseHung()
    const metrics = (await app.inject({ url: '/metrics' })).body
    expect(metrics).toMatch(/lg_auth_backend_request_duration_seconds_count\{outcome="timeout"\} 1\b/)
  })

  it('recovers by itself once a refusing backend accepts connections again', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: breakerEnv(backend.url) })
    await backend.refuse()
    for (let i = 0; i < 4; i++) expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(503)
    expect(await breakerState(app)).toBe('open')
    await backend.accept()
    await sleep(350)
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)
    expect(await breakerState(app)).toBe('closed')
  })
})

describe('a backend that asks for time', () => {
  it('answers 429 and 408 with auth_unavailable and its Retry-After, without opening the breaker', async () => {
    const backend = await fakeBackendForTest(({ n }) => ({ status: n % 2 === 0 ? 408 : 429, body: {} }))
    const app = await buildTestApp({ env: breakerEnv(backend.url) })
    for (let i = 0; i < 10; i++) {
      const res = await app.inject(jsonLogin('alice', 'right-pass'))
      expect(res.statusCode).toBe(503)
      expect(res.json()).toMatchObject({ code: 'auth_unavailable', retryAfter: 2 })
    }
    expect(await breakerState(app)).toBe('closed')
  })

  it('keeps the breaker open when it answers the half-open probe with 429 or 408, and closes it on a real answer', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 500 }))
    const app = await buildTestApp({ env: breakerEnv(backend.url) })
    for (let i = 0; i < 4; i++) await app.inject(jsonLogin('alice', 'right-pass'))
    expect(await breakerState(app)).toBe('open')

    let calls = 4
    for (const status of [429, 408]) {
      backend.script(() => ({ status, body: {}, headers: { 'retry-after': '1' } }))
      await sleep(350)
      const probe = await app.inject(jsonLogin('alice', 'right-pass'))
      expect(probe.json()).toMatchObject({ code: 'auth_unavailable', retryAfter: 1 })
      expect(backend.calls()).toBe(++calls)
      expect(await breakerState(app)).toBe('open') // asking for time is no sign of health
      expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(503)
      expect(backend.calls()).toBe(calls) // refused without calling the backend
    }

    backend.script(directory)
    await sleep(350)
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)
    expect(await breakerState(app)).toBe('closed')
  })

  it('passes on the backend\'s own Retry-After', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 429, body: {}, headers: { 'retry-after': '30' } }))
    const app = await buildTestApp({ env: breakerEnv(backend.url) })
    const res = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(res.headers['retry-after']).toBe('30')
    expect(res.json().retryAfter).toBe(30)
  })

  it('counts other unexpected 4xx answers, and still answers invalid_credentials', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 422, body: {} }))
    const app = await buildTestApp({ env: breakerEnv(backend.url) })
    expect((await app.inject(jsonLogin('alice', 'x'))).json().code).toBe('invalid_credentials')
    expect((await app.inject({ url: '/metrics' })).body).toContain('lg_auth_backend_unexpected_status_total{status="422"} 1')
  })
})

describe('connection pool', () => {
  it('gives every call the bulkhead admits its own connection, so a busy healthy backend never looks failed', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 200, body: { userId: 'u-alice' }, delayMs: 150 }))
    const app = await buildTestApp({ env: { ...breakerEnv(backend.url), AUTH_BACKEND_MAX_CONCURRENT: '30', AUTH_BACKEND_TIMEOUT_MS: '250' } })
    const answers = await Promise.all(Array.from({ length: 30 }, () => app.inject(jsonLogin('alice', 'right-pass'))))
    expect(answers.map(a => a.statusCode)).toEqual(Array(30).fill(200))
    expect(await breakerState(app)).toBe('closed')
  })
})

describe('bulkhead', () => {
  it('answers 503 overloaded at once when the cap of concurrent backend calls is reached', async () => {
    const backend = await fakeBackendForTest(() => ({ hang: true }))
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, AUTH_BACKEND_MAX_CONCURRENT: '2', AUTH_BACKEND_TIMEOUT_MS: '5000' } })

    const inFlight = [app.inject(jsonLogin('alice', 'right-pass')), app.inject(jsonLogin('alice', 'right-pass'))]
    for (let i = 0; i < 100 && backend.calls() < 2; i++) await sleep(10)
    expect(backend.calls()).toBe(2)

    const started = Date.now()
    const shed = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(Date.now() - started).toBeLessThan(500)
    expect(shed.statusCode).toBe(503)
    expect(['1', '2']).toContain(shed.headers['retry-after'])
    expect(shed.json()).toMatchObject({ code: 'overloaded' })
    expect(backend.calls()).toBe(2)

    backend.releaseHung()
    const answers = await Promise.all(inFlight)
    expect(answers.map(r => r.statusCode)).toEqual([200, 200])
    expect(await breakerState(app)).toBe('closed')
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/lg_bulkhead_rejections_total\{dependency="auth_backend"\} 1/)
  })
})
