import { describe, expect, it } from 'vitest'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { webhookProvider, webhookSink } from '../helpers/otp-webhook-sink.js'
import { buildTestApp, capturedLogger, jsonLogin } from '../helpers/test-app.js'

async function appWithBackend (env: Record<string, string> = {}, extra = {}) {
  const backend = await fakeBackendForTest()
  const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ...env }, ...extra })
  return { app, backend }
}

describe('POST /auth/login', () => {
  it('issues a session that works as a bearer token and as the sid cookie', async () => {
    const { app } = await appWithBackend()
    const res = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ status: 'authenticated', userId: 'u-alice' })
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now())
    const cookie = res.cookies.find(c => c.name === 'sid')
    expect(cookie).toMatchObject({ value: body.token, httpOnly: true, sameSite: 'Lax', path: '/' })
    // A token must never be cached; helmet's headers are on.
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/)

    // ...on refusals too (they are built once, at startup: see security-headers.ts).
    const refused = await app.inject(jsonLogin('alice', 'wrong-pass'))
    expect(refused.statusCode).toBe(401)
    expect(refused.headers['x-content-type-options']).toBe('nosniff')
    expect(refused.headers['content-security-policy']).toContain("default-src 'self'")
    expect(refused.headers['x-frame-options']).toBe('SAMEORIGIN')

    const byBearer = await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${body.token}` } })
    expect(byBearer.statusCode).toBe(200)
    expect(byBearer.json()).toMatchObject({ status: 'active', userId: 'u-alice' })
    const byCookie = await app.inject({ url: '/auth/session', cookies: { sid: body.token } })
    expect(byCookie.json()).toMatchObject({ status: 'active', userId: 'u-alice' })
  })

  it('accepts a form-urlencoded body', async () => {
    const { app } = await appWithBackend()
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: 'username=alice&password=right-pass', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(res.statusCode).toBe(200)
    expect(res.json().status).toBe('authenticated')
  })

  it('marks the cookie Secure when configured', async () => {
    const { app } = await appWithBackend({ SESSION_COOKIE_SECURE: 'true', SESSION_COOKIE_SAMESITE: 'strict' })
    const res = await app.inject(jsonLogin('alice', 'right-pass'))
    expect(res.cookies.find(c => c.name === 'sid')).toMatchObject({ secure: true, sameSite: 'Strict' })
  })

  it('normalises the username before the backend sees it', async () => {
    const { app, backend } = await appWithBackend()
    const seen: string[] = []
    backend.script(call => { seen.push(call.username); return { status: 200, body: { userId: 'u-alice' } } })
    const res = await app.inject(jsonLogin('  ａｌｉｃｅ ', 'right-pass'))
    expect(res.statusCode).toBe(200)
    expect(seen).toEqual(['alice'])
  })

  it('answers otp_required with the channels and a masked destination from the backend', async () => {
    const sink = await webhookSink()
    const { app } = await appWithBackend({ OTP_PROVIDERS: JSON.stringify([webhookProvider('all', sink, ['sms', 'voice', 'email'], 1)]) })
    const res = await app.inject(jsonLogin('bob', 'bob-pass'))
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toEqual({ status: 'otp_required', challengeId: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), channels: ['sms', 'voice', 'email'], destination: '138****5678' })
    expect(res.cookies).toHaveLength(0)
    expect(res.body).not.toContain('13812345678')
  })

  it('gives byte-identical answers for an unknown user and a wrong password, apart from the request id', async () => {
    const { app } = await appWithBackend()
    const normalise = (res: Awaited<ReturnType<typeof app.inject>>) => {
      const { date: _date, 'x-request-id': id, ...headers } = res.headers
      return { status: res.statusCode, headers, body: res.body.replaceAll(String(id), '<id>') }
    }
    // From two fresh addresses, so that their rate-limit counters stand at the same place.
    const wrongPassword = normalise(await app.inject({ ...jsonLogin('alice', 'wrong-pass'), remoteAddress: '198.51.100.1' }))
    const unknownUser = normalise(await app.inject({ ...jsonLogin('mallory', 'wrong-pass'), remoteAddress: '203.0.113.2' }))
    expect(wrongPassword.status).toBe(401)
    expect(JSON.parse(wrongPassword.body)).toMatchObject({ code: 'invalid_credentials', status: 401 })
    expect(unknownUser).toEqual(wrongPassword)
  })

  it('localises problem documents from Accept-Language', async () => {
    const { app } = await appWithBackend()
    const res = await app.inject(jsonLogin('alice', 'nope', { 'accept-language': 'zh-CN,zh;q=0.9' }))
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ title: '用户名或密码错误', code: 'invalid_credentials', type: '/problems/invalid_credentials', instance: '/auth/login' })
  })

  it('offers only the channels some provider can send on, and says so when there is none', async () => {
    const sink = await webhookSink()
    const { app } = await appWithBackend({ OTP_PROVIDERS: JSON.stringify([webhookProvider('mail', sink, ['email'], 1)]) })
    expect((await app.inject(jsonLogin('bob', 'bob-pass'))).json()).toMatchObject({ channels: ['email'], destination: 'b***@example.com' })
    const none = await appWithBackend()
    const res = await none.app.inject(jsonLogin('bob', 'bob-pass'))
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ code: 'otp_delivery_failed', alternatives: [], retryAfter: 300 })
    expect(res.headers['retry-after']).toBe('300')
  })
})

describe('bad input', () => {
  it.each([
    ['malformed JSON', { 'content-type': 'application/json' }, '{"username":"alice",', 400, 'invalid_request'],
    ['an empty JSON body', { 'content-type': 'application/json' }, '', 400, 'invalid_request'],
    ['a wrong content type', { 'content-type': 'text/plain' }, 'username=alice', 415, 'unsupported_media_type'],
    ['an oversized body', { 'content-type': 'application/json' }, JSON.stringify({ username: 'alice', password: 'x'.repeat(5000) }), 413, 'payload_too_large'],
    ['a deeply nested body', { 'content-type': 'application/json' }, `{"username":${'{"a":'.repeat(200)}1${'}'.repeat(200)},"password":"p"}`, 400, 'invalid_request'],
    ['a prototype-poisoning body', { 'content-type': 'application/json' }, '{"username":"alice","password":"p","__proto__":{"admin":true}}', 400, 'invalid_request']
  ])('answers %s with a problem document', async (_name, headers, payload, status, code) => {
    const { app, backend } = await appWithBackend()
    const res = await app.inject({ method: 'POST', url: '/auth/login', headers, payload })
    expect(res.statusCode).toBe(status)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ code, status, requestId: res.headers['x-request-id'] })
    expect(backend.calls()).toBe(0)
  })

  it('names unknown, missing and malformed fields', async () => {
    const { app } = await appWithBackend()
    const res = await app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: { username: 42, isAdmin: true } })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors).toEqual(expect.arrayContaining([
      { field: 'isAdmin', reason: 'unknown_field' },
      { field: 'password', reason: 'required' },
      { field: 'username', reason: 'invalid_type' }
    ]))
  })

  it('refuses repeated form fields and usernames that normalise to nothing', async () => {
    const { app } = await appWithBackend()
    const twice = await app.inject({ method: 'POST', url: '/auth/login', payload: 'username=alice&username=bob&password=p', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(twice.json()).toMatchObject({ code: 'invalid_request', errors: [{ field: 'username', reason: 'invalid_type' }] })
    const blank = await app.inject(jsonLogin('\u3000 ', 'p'))
    expect(blank.json()).toMatchObject({ code: 'invalid_request', errors: [{ field: 'username', reason: 'too_short' }] })
  })
})

describe('every response', () => {
  it('carries a request id, echoing a safe one from the caller and replacing an unsafe one', async () => {
    const { app } = await appWithBackend()
    const echoed = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-0123456789' } })
    expect(echoed.headers['x-request-id']).toBe('trace-0123456789')
    const replaced = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u0000<script>' } })
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('answers an unknown route with a not_found problem', async () => {
    const { app } = await appWithBackend()
    const res = await app.inject({ url: '/nope' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ code: 'not_found' })
  })

  it('answers an unexpected exception with internal_error and no detail of it', async () => {
    const { app } = await appWithBackend()
    app.get('/boom', async () => { throw new Error('secret table users_v2 is corrupt') })
    const res = await app.inject({ url: '/boom' })
    expect(res.statusCode).toBe(500)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ code: 'internal_error', requestId: res.headers['x-request-id'] })
    expect(res.body).not.toMatch(/users_v2|stack|at .*\.ts/)
  })

  it('documents each problem type at its type URI', async () => {
    const { app } = await appWithBackend()
    const res = await app.inject({ url: '/problems/too_many_attempts' })
    expect(res.json()).toMatchObject({ code: 'too_many_attempts', status: 429, title: { en: 'Too many attempts' } })
    expect((await app.inject({ url: '/problems/bogus' })).statusCode).toBe(404)
  })
})

describe('logs', () => {
  it('never contain passwords, session tokens, cookies or phone numbers, but do carry the request id', async () => {
    const captured = capturedLogger('trace')
    const { app } = await appWithBackend({}, { logger: captured.logger })
    const login = await app.inject(jsonLogin('alice', 'right-pass'))
    const token = login.json().token as string
    await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })
    await app.inject({ url: '/auth/session', cookies: { sid: token } })
    await app.inject({ method: 'POST', url: '/auth/logout', cookies: { sid: token } })
    await app.inject(jsonLogin('alice', 'wrong-pass-zzz'))
    await app.inject(jsonLogin('bob', 'bob-pass'))
    const text = captured.text()
    expect(captured.lines.length).toBeGreaterThan(5)
    expect(text).toContain(login.headers['x-request-id'])
    // Every line about a request says which request.
    const requestLines = captured.lines.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => 'req' in l || 'res' in l || 'problem' in l)
    expect(requestLines.length).toBeGreaterThan(10)
    for (const line of requestLines) expect(line.requestId, JSON.stringify(line)).toEqual(expect.any(String))
    for (const secret of ['right-pass', 'wrong-pass-zzz', 'bob-pass', token, token.split('.')[1] as string, '13812345678']) {
      expect(text).not.toContain(secret)
    }
  })
})
