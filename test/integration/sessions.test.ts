import { Redis } from 'ioredis'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { buildTestApp, jsonLogin } from '../helpers/test-app.js'

const IDLE_S = 600
const ABSOLUTE_S = 3600

// The same contract for both stores: Redis (production) and in-process memory (demo mode).
describe.each([
  ['redis', (url: string) => ({ env: { AUTH_BACKEND_URL: url } })],
  ['memory', (url: string) => ({ env: { REDIS_URL: '' }, authBackendUrl: url })]
])('sessions in %s', (_store, setup) => {
  async function sessionApp (env: Record<string, string> = {}) {
    const backend = await fakeBackendForTest()
    let clock = Date.parse('2026-11-22T08:00:00Z')
    const base = setup(backend.url)
    const app = await buildTestApp({
      ...base,
      env: { SESSION_IDLE_TIMEOUT_S: String(IDLE_S), SESSION_ABSOLUTE_TIMEOUT_S: String(ABSOLUTE_S), ...base.env, ...env },
      now: () => clock
    })
    const login = async () => (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string
    const check = async (token: string) => {
      const res = await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })
      return res.statusCode === 200 ? 'active' : res.json().code as string
    }
    return { app, login, check, advance: (seconds: number) => { clock += seconds * 1000 } }
  }

  it('revokes the session on logout and clears the cookie', async () => {
    const { app, login, check } = await sessionApp()
    const token = await login()
    const out = await app.inject({ method: 'POST', url: '/auth/logout', cookies: { sid: token } })
    expect(out.statusCode).toBe(200)
    expect(out.json()).toEqual({ status: 'logged_out', ended: 1 })
    expect(out.cookies.find(c => c.name === 'sid')?.value).toBe('')
    expect(await check(token)).toBe('session_invalid')
    const again = await app.inject({ method: 'POST', url: '/auth/logout', cookies: { sid: token } })
    expect(again.statusCode).toBe(401)
    expect(again.cookies.find(c => c.name === 'sid')?.value).toBe('')
  })

  it('ends an unused session at the idle timeout, and use slides it', async () => {
    const { login, check, advance } = await sessionApp()
    const used = await login()
    const unused = await login()
    advance(IDLE_S - 10)
    expect(await check(used)).toBe('active')
    advance(IDLE_S - 10)
    expect(await check(used)).toBe('active')
    expect(await check(unused)).toBe('session_invalid')
  })

  it('ends a session at the absolute timeout however active it is', async () => {
    const { login, check, advance } = await sessionApp()
    const token = await login()
    for (let elapsed = 0; elapsed + IDLE_S / 2 < ABSOLUTE_S; elapsed += IDLE_S / 2) {
      advance(IDLE_S / 2)
      expect(await check(token), `after ${elapsed + IDLE_S / 2} s`).toBe('active')
    }
    advance(IDLE_S / 2)
    expect(await check(token)).toBe('session_invalid')
  })

  it('lists a user\'s sessions and revokes all of them at once', async () => {
    const { app, login, check, advance } = await sessionApp()
    const tokens: string[] = []
    for (let i = 0; i < 3; i++) { tokens.push(await login()); advance(1) }
    const list = await app.inject({ url: '/auth/sessions', headers: { authorization: `Bearer ${tokens[1]}` } })
    expect(list.json().sessions.map((s: { current: boolean }) => s.current)).toEqual([false, true, false])
    expect(list.body).not.toContain(tokens[0])

    const out = await app.inject({ method: 'POST', url: '/auth/logout?all=true', headers: { authorization: `Bearer ${tokens[0]}` } })
    expect(out.json()).toEqual({ status: 'logged_out', ended: 3 })
    for (const t of tokens) expect(await check(t)).toBe('session_invalid')
  })

  it('evicts the oldest session past the per-user cap', async () => {
    const { login, check, advance } = await sessionApp({ SESSION_MAX_PER_USER: '2' })
    const first = await login()
    advance(1)
    const second = await login()
    advance(1)
    const third = await login()
    expect([await check(first), await check(second), await check(third)]).toEqual(['session_invalid', 'active', 'active'])
  })

  it('rejects missing, malformed and forged tokens', async () => {
    const { app, login, check } = await sessionApp()
    const token = await login()
    expect((await app.inject({ url: '/auth/session' })).json().code).toBe('session_invalid')
    expect(await check('not-a-token')).toBe('session_invalid')
    const forged = `${token.split('.')[0]}.${'A'.repeat(43)}`
    expect(await check(forged)).toBe('session_invalid')
    expect(await check(token)).toBe('active')
  })
})

describe('sessions in Redis', () => {
  it('stores only the token hash, and keeps the user index and sessions in one hash slot', async () => {
    const backend = await fakeBackendForTest()
    const prefix = `t:keys${Date.now()}:`
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, REDIS_KEY_PREFIX: prefix } })
    const token = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string
    const redis = new Redis(inject('redisUrl'))
    onTestFinished(() => { redis.disconnect() })

    const keys = await redis.keys(`${prefix}sess:*`)
    expect(keys).toHaveLength(2)
    const tags = new Set(keys.map(k => /\{(.+?)\}/.exec(k)?.[1]))
    expect(tags.size).toBe(1)
    const secret = token.split('.')[1] as string
    for (const key of keys) {
      expect(key).not.toContain(secret)
      const type = await redis.type(key)
      const values = type === 'hash' ? Object.values(await redis.hgetall(key)) : await redis.zrange(key, 0, -1)
      for (const v of values) expect(v).not.toContain(secret)
      expect(await redis.pttl(key)).toBeGreaterThan(0)
    }
  })
})

describe('admin session controls', () => {
  it('list and revoke every session of a user with the admin token, and nothing without it', async () => {
    const backend = await fakeBackendForTest()
    const adminToken = 'admin-token-0123456789abcdef'
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: adminToken } })
    const token = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string
    await app.inject(jsonLogin('alice', 'right-pass'))

    const denied = await app.inject({ method: 'DELETE', url: '/admin/users/u-alice/sessions', headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } })
    expect(denied.statusCode).toBe(401)
    expect(denied.json().code).toBe('admin_token_invalid')

    const auth = { authorization: `Bearer ${adminToken}` }
    const list = await app.inject({ url: '/admin/users/u-alice/sessions', headers: auth })
    expect(list.json().sessions).toHaveLength(2)
    const revoked = await app.inject({ method: 'DELETE', url: '/admin/users/u-alice/sessions', headers: auth })
    expect(revoked.json()).toEqual({ userId: 'u-alice', ended: 2 })
    expect((await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401)
  })

  it('is off without an admin token', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url } })
    expect((await app.inject({ url: '/admin/status', headers: { authorization: 'Bearer anything-at-all-0123456789' } })).statusCode).toBe(404)
  })
})
