import { setTimeout as sleep } from 'node:timers/promises'
import { type FastifyInstance, type InjectOptions } from 'fastify'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { fakeBackendForTest, type FakeAuthBackend } from '../helpers/fake-auth-backend.js'
import { commandCounter, roundTripRelay } from '../helpers/redis-probe.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { buildTestApp, jsonLogin } from '../helpers/test-app.js'

type LimitOverrides = Record<string, { points?: number, windowS?: number, blockS?: number, maxBlockS?: number, shadow?: boolean, enabled?: boolean }>

/** Only the named limits are on (the rest are off), with the given budgets. */
function onlyLimits (limits: LimitOverrides): string {
  const names = ['global_attempts', 'ip_attempts', 'subnet_attempts', 'ip_failures', 'user_ip_failures', 'user_failures_short', 'user_failures_day', 'device_attempts', 'device_failures']
  return JSON.stringify(Object.fromEntries(names.map(n => [n, { enabled: false, ...(limits[n] ? { enabled: true, ...limits[n] } : {}) }])))
}

async function limitedApp (limits: LimitOverrides, env: Record<string, string> = {}, backend?: FakeAuthBackend) {
  const b = backend ?? await fakeBackendForTest()
  const app = await buildTestApp({ env: { AUTH_BACKEND_URL: b.url, LIMITS: onlyLimits(limits), ...env } })
  return { app, backend: b }
}

const from = (remoteAddress: string, options: InjectOptions): InjectOptions => ({ ...options, remoteAddress })
const attempt = (app: FastifyInstance, ip: string, username: string, password: string, extra: Partial<InjectOptions> = {}) =>
  app.inject({ ...from(ip, jsonLogin(username, password)), ...extra })

describe('limits per address', () => {
  it('answers 429 with Retry-After and RateLimit fields past the per-IP budget, and only for that IP', async () => {
    const { app } = await limitedApp({ ip_attempts: { points: 3, windowS: 60 } })
    const first = await attempt(app, '198.51.100.7', 'alice', 'right-pass')
    expect(first.statusCode).toBe(200)
    expect(first.headers['ratelimit-policy']).toBe('"ip_attempts";q=3;w=60')
    expect(first.headers.ratelimit).toMatch(/^"ip_attempts";r=2;t=(59|60)$/)
    await attempt(app, '198.51.100.7', 'alice', 'wrong')
    expect((await attempt(app, '198.51.100.7', 'bob', 'wrong')).headers.ratelimit).toMatch(/r=0;/)

    const refused = await attempt(app, '198.51.100.7', 'alice', 'right-pass')
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(55)
    expect(refused.json()).toMatchObject({ code: 'too_many_attempts', retryAfter: Number(refused.headers['retry-after']) })
    expect(refused.json().detail).toContain(`${refused.headers['retry-after']} seconds`)
    expect(refused.headers.ratelimit).toMatch(/^"ip_attempts";r=0;t=\d+$/)

    expect((await attempt(app, '198.51.100.8', 'alice', 'right-pass')).statusCode).toBe(200)
  })

  it('counts addresses rotating inside one /24 (and one IPv6 /64) together', async () => {
    const { app } = await limitedApp({ subnet_attempts: { points: 4, windowS: 60 } })
    const codes = []
    for (let i = 1; i <= 6; i++) codes.push((await attempt(app, `203.0.113.${i}`, `user${i}`, 'wrong')).statusCode)
    expect(codes).toEqual([401, 401, 401, 401, 429, 429])
    expect((await attempt(app, '203.0.114.1', 'user', 'wrong')).statusCode).toBe(401)

    const v6 = []
    for (let i = 1; i <= 5; i++) v6.push((await attempt(app, `2001:db8:1:2::${i}`, `user${i}`, 'wrong')).statusCode)
    expect(v6).toEqual([401, 401, 401, 401, 429])
  })

  it('refuses denied networks outright and spares allowed ones the address-wide limits only', async () => {
    const { app, backend } = await limitedApp({ ip_attempts: { points: 1, windowS: 60 }, user_ip_failures: { points: 3, windowS: 3600, blockS: 60 } }, { DENY_CIDRS: '192.0.2.0/24', ALLOW_CIDRS: '10.9.0.0/16' })
    const denied = await attempt(app, '192.0.2.50', 'alice', 'right-pass')
    expect(denied.statusCode).toBe(403)
    expect(denied.json().code).toBe('request_blocked')
    expect(backend.calls()).toBe(0)
    for (let i = 0; i < 5; i++) expect((await attempt(app, '10.9.8.7', 'alice', 'right-pass')).statusCode).toBe(200)
    // A compromised office machine still cannot guess one account's password forever.
    const guesses = []
    for (let i = 0; i < 5; i++) guesses.push((await attempt(app, '10.9.8.7', 'bob', `guess${i}`)).statusCode)
    expect(guesses).toEqual([401, 401, 401, 429, 429])
  })

  it('protects the backend with a global rate', async () => {
    const { app, backend } = await limitedApp({ global_attempts: { points: 5, windowS: 60 } })
    const codes = []
    for (let i = 0; i < 8; i++) codes.push((await attempt(app, `198.51.${i}.1`, `user${i}`, 'wrong')).statusCode)
    expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
    expect(backend.calls()).toBe(5)
  })
})

describe('brute force on one account', () => {
  it('blocks a username and IP pair after consecutive failures, for an escalating time', async () => {
    const { app } = await limitedApp({ user_ip_failures: { points: 2, windowS: 3600, blockS: 1 } })
    const ip = '198.51.100.20'
    expect((await attempt(app, ip, 'alice', 'wrong')).statusCode).toBe(401)
    expect((await attempt(app, ip, 'alice', 'wrong')).statusCode).toBe(401)
    const blocked = await attempt(app, ip, 'alice', 'right-pass')
    expect(blocked.statusCode).toBe(429)
    expect(blocked.headers['retry-after']).toBe('1')
    // Another user on the same address, and the same user elsewhere, are not affected.
    expect((await attempt(app, ip, 'bob', 'wrong')).statusCode).toBe(401)
    expect((await attempt(app, '198.51.100.21', 'alice', 'right-pass')).statusCode).toBe(200)

    await sleep(1100)
    expect((await attempt(app, ip, 'alice', 'wrong')).statusCode).toBe(401)
    expect((await attempt(app, ip, 'alice', 'wrong')).statusCode).toBe(401)
    const again = await attempt(app, ip, 'alice', 'wrong')
    expect(again.statusCode).toBe(429)
    expect(again.headers['retry-after']).toBe('2') // doubled: the second block in a day
  })

  it('resets the consecutive failures of that user on that IP when the login succeeds', async () => {
    const { app } = await limitedApp({ user_ip_failures: { points: 3, windowS: 3600, blockS: 60 } })
    const ip = '198.51.100.30'
    // Six failures in all, but never three in a row: a success in between starts the count again.
    for (let round = 0; round < 3; round++) {
      expect((await attempt(app, ip, 'alice', 'wrong')).statusCode).toBe(401)
      expect((await attempt(app, ip, 'alice', 'wrong')).statusCode).toBe(401)
      expect((await attempt(app, ip, 'alice', 'right-pass')).statusCode).toBe(200)
    }
    // Three in a row block the pair, whatever the fourth attempt is.
    for (let i = 0; i < 3; i++) expect((await attempt(app, ip, 'alice', 'wrong')).statusCode).toBe(401)
    expect((await attempt(app, ip, 'alice', 'right-pass')).statusCode).toBe(429)
  })

  it('slows an account down across all addresses, but only for a window', async () => {
    const { app } = await limitedApp({ user_failures_short: { points: 3, windowS: 2 } })
    const codes = []
    for (let i = 0; i < 5; i++) codes.push((await attempt(app, `198.51.${100 + i}.9`, 'alice', 'wrong')).statusCode)
    expect(codes).toEqual([401, 401, 401, 429, 429])
    await sleep(2100)
    expect((await attempt(app, '198.51.120.9', 'alice', 'right-pass')).statusCode).toBe(200)
  })

  it('answers the same for an unknown user as for a real one', async () => {
    const { app } = await limitedApp({ user_failures_short: { points: 2, windowS: 600 } })
    const shape = async (user: string) => {
      const out = []
      for (let i = 0; i < 3; i++) {
        const res = await attempt(app, `198.51.${user.length}.${i}`, user, 'wrong')
        out.push([res.statusCode, res.json().code, res.headers['retry-after'] !== undefined])
      }
      return out
    }
    expect(await shape('nobody-here')).toEqual(await shape('alice'))
  })
})

describe('the IP-wide failure budget', () => {
  it('is not reset by a successful login on another account', async () => {
    const { app } = await limitedApp({ ip_failures: { points: 4, windowS: 3600 } })
    const ip = '198.51.100.40'
    for (let i = 0; i < 3; i++) expect((await attempt(app, ip, `victim${i}`, 'guess')).statusCode).toBe(401)
    // The attacker's own account: valid, so it must not launder the address.
    expect((await attempt(app, ip, 'alice', 'right-pass')).statusCode).toBe(200)
    expect((await attempt(app, ip, 'victim3', 'guess')).statusCode).toBe(401)
    expect((await attempt(app, ip, 'victim4', 'guess')).statusCode).toBe(429)
    expect((await attempt(app, ip, 'alice', 'right-pass')).statusCode).toBe(429)
  })
})

describe('shared addresses', () => {
  it('raises the IP-wide budget of an address many users log in from, visibly', async () => {
    const backend = await fakeBackendForTest(({ username, password }) =>
      password === 'right-pass' ? { status: 200, body: { userId: `u-${username}` } } : { status: 401 })
    const { app } = await limitedApp({ ip_attempts: { points: 4, windowS: 60 } }, { SHARED_ADDRESS_MIN_USERS: '3', SHARED_ADDRESS_MULTIPLIER: '5' }, backend)
    const nat = '198.51.100.50'
    for (const user of ['ann', 'ben', 'cat']) expect((await attempt(app, nat, user, 'right-pass')).statusCode).toBe(200)
    const codes = []
    for (let i = 0; i < 18; i++) codes.push((await attempt(app, nat, `dan${i}`, 'right-pass')).statusCode)
    expect(codes.filter(c => c === 200)).toHaveLength(17) // 20 in all: 4 x 5
    expect(codes.at(-1)).toBe(429)
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/lg_shared_addresses_detected_total 1/)

    // A lone address keeps the normal budget.
    const lone = []
    for (let i = 0; i < 5; i++) lone.push((await attempt(app, '198.51.100.51', 'ann', 'right-pass')).statusCode)
    expect(lone).toEqual([200, 200, 200, 200, 429])
  })

  it('never lets a neighbour\'s subnet refusal, remembered in process, refuse the shared address it does not hold', async () => {
    const backend = await fakeBackendForTest(({ username, password }) =>
      password === 'right-pass' ? { status: 200, body: { userId: `u-${username}` } } : { status: 401 })
    const { app } = await limitedApp({ ip_attempts: { points: 100, windowS: 60 }, subnet_attempts: { points: 8, windowS: 60 } }, { SHARED_ADDRESS_MIN_USERS: '3', SHARED_ADDRESS_MULTIPLIER: '5' }, backend)
    const nat = '198.51.100.80'
    for (let i = 0; i < 10; i++) expect((await attempt(app, nat, `user${i}`, 'right-pass')).statusCode).toBe(200) // shared from the 3rd on
    expect((await attempt(app, '198.51.100.81', 'eve', 'right-pass')).statusCode).toBe(429) // past the normal 8: remembered
    expect((await attempt(app, nat, 'user11', 'right-pass')).statusCode).toBe(200) // the NAT's budget is 40
  })

  it('raises the subnet budget for a shared address too, never for the other addresses of its subnet', async () => {
    const backend = await fakeBackendForTest(({ username, password }) =>
      password === 'right-pass' ? { status: 200, body: { userId: `u-${username}` } } : { status: 401 })
    // The subnet's normal budget is what the shared address alone uses up, as with the defaults (300 = 30 x 10).
    const { app } = await limitedApp({ ip_attempts: { points: 4, windowS: 60 }, subnet_attempts: { points: 8, windowS: 60 } }, { SHARED_ADDRESS_MIN_USERS: '3', SHARED_ADDRESS_MULTIPLIER: '5' }, backend)
    const nat = '198.51.100.70'
    for (const user of ['ann', 'ben', 'cat']) expect((await attempt(app, nat, user, 'right-pass')).statusCode).toBe(200)
    const codes = []
    for (let i = 0; i < 18; i++) codes.push((await attempt(app, nat, `dan${i}`, 'right-pass')).statusCode)
    expect(codes.filter(c => c === 200)).toHaveLength(17) // the address's own 20 (4 x 5), within the subnet's 40 (8 x 5)
    expect(codes.at(-1)).toBe(429)

    // A neighbour that is not shared keeps the normal subnet budget, which the NAT's 21 attempts exceed.
    const neighbour = await attempt(app, '198.51.100.71', 'eve', 'right-pass')
    expect(neighbour.statusCode).toBe(429)
    expect((await attempt(app, '198.51.101.71', 'eve', 'right-pass')).statusCode).toBe(200)
  })
})

describe('trusted devices', () => {
  it('let an honest user with a device cookie in while an attacker on the same IP is blocked', async () => {
    const { app, backend } = await limitedApp({
      ip_attempts: { points: 50, windowS: 60 },
      ip_failures: { points: 20, windowS: 3600 },
      user_failures_short: { points: 5, windowS: 600 },
      device_attempts: { points: 10, windowS: 60 },
      device_failures: { points: 5, windowS: 3600, blockS: 60 }
    })
    const office = '198.51.100.60'
    const first = await attempt(app, office, 'alice', 'right-pass')
    const device = first.cookies.find(c => c.name === 'did')
    expect(device).toMatchObject({ httpOnly: true, path: '/auth', sameSite: 'Lax' })
    expect(device?.value).not.toContain('alice')

    // The attack: hundreds of wrong passwords for many usernames, alice's among them.
    const attack = []
    for (let i = 0; i < 300; i++) attack.push((await attempt(app, office, i % 3 === 0 ? 'alice' : `user${i}`, `guess${i}`)).statusCode)
    expect(attack.filter(c => c === 429).length).toBeGreaterThan(250)
    const backendCallsDuringAttack = backend.calls()
    expect(backendCallsDuringAttack).toBeLessThan(30)

    const withCookie = await attempt(app, office, 'alice', 'right-pass', { cookies: { did: device?.value ?? '' } })
    expect(withCookie.statusCode).toBe(200)
    expect(withCookie.cookies.find(c => c.name === 'did')).toBeUndefined() // already trusted
    const withoutCookie = await attempt(app, office, 'alice', 'right-pass')
    expect(withoutCookie.statusCode).toBe(429)
  })

  it('work for API clients too: the token comes in the body and goes back as X-Device-Token', async () => {
    const { app } = await limitedApp({ ip_attempts: { points: 2, windowS: 60 }, device_attempts: { points: 10, windowS: 60 } })
    const first = await attempt(app, '198.51.100.64', 'alice', 'right-pass')
    const deviceToken = first.json().deviceToken as string
    expect(deviceToken).toBe(first.cookies.find(c => c.name === 'did')?.value)
    await attempt(app, '198.51.100.64', 'x', 'y')
    expect((await attempt(app, '198.51.100.64', 'alice', 'right-pass')).statusCode).toBe(429)
    const app2 = await attempt(app, '198.51.100.64', 'alice', 'right-pass', { headers: { 'content-type': 'application/json', 'x-device-token': deviceToken } })
    expect(app2.statusCode).toBe(200)
    expect(app2.json().deviceToken).toBeUndefined() // already trusted
  })

  it('ignores a device cookie issued for another user, or tampered with', async () => {
    const { app } = await limitedApp({ ip_attempts: { points: 2, windowS: 60 }, device_attempts: { points: 10, windowS: 60 } })
    const ip = '198.51.100.61'
    const bobs = (await attempt(app, '198.51.100.62', 'bob', 'bob-pass')).cookies.find(c => c.name === 'did')?.value
    const alices = (await attempt(app, '198.51.100.63', 'alice', 'right-pass')).cookies.find(c => c.name === 'did')?.value ?? ''
    expect(bobs).toBeUndefined() // a second factor is pending: no device trust yet
    await attempt(app, ip, 'x', 'y')
    await attempt(app, ip, 'x', 'y')
    const tampered = `${alices.slice(0, -2)}AA`
    expect((await attempt(app, ip, 'alice', 'right-pass', { cookies: { did: tampered } })).statusCode).toBe(429)
    expect((await attempt(app, ip, 'ALICE', 'right-pass', { cookies: { did: alices } })).statusCode).not.toBe(429)
  })

  it('give a device its own failure budget', async () => {
    const { app } = await limitedApp({ ip_attempts: { points: 100, windowS: 60 }, device_attempts: { points: 100, windowS: 60 }, device_failures: { points: 3, windowS: 3600, blockS: 30 } })
    const cookie = (await attempt(app, '198.51.100.70', 'alice', 'right-pass')).cookies.find(c => c.name === 'did')?.value ?? ''
    const codes = []
    for (let i = 0; i < 5; i++) codes.push((await attempt(app, '198.51.100.70', 'alice', 'wrong', { cookies: { did: cookie } })).statusCode)
    expect(codes).toEqual([401, 401, 401, 429, 429])
  })
})

describe('concurrent refusals on an escalating limit', () => {
  it('never tell anyone to wait the counter\'s whole window', async () => {
    const { app } = await limitedApp({ user_ip_failures: { points: 3, windowS: 86_400, blockS: 60 } })
    for (let i = 0; i < 3; i++) await attempt(app, '198.51.100.95', 'alice', 'wrong')
    const answers = await Promise.all(Array.from({ length: 10 }, () => attempt(app, '198.51.100.95', 'alice', 'wrong')))
    const retryAfters = answers.map(a => Number(a.headers['retry-after']))
    expect(answers.every(a => a.statusCode === 429)).toBe(true)
    expect(Math.max(...retryAfters)).toBeLessThanOrEqual(60)
  })
})

describe('shadow limits', () => {
  it('count and report but never refuse', async () => {
    const { app } = await limitedApp({ ip_attempts: { points: 2, windowS: 60, shadow: true } })
    const codes = []
    for (let i = 0; i < 5; i++) codes.push((await attempt(app, '198.51.100.80', 'alice', 'right-pass')).statusCode)
    expect(codes).toEqual([200, 200, 200, 200, 200])
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/lg_limit_decisions_total\{limit="ip_attempts",decision="shadow"\} 3/)
  })
})

describe('many replicas', () => {
  it('two gateways on one Redis enforce one shared budget', async () => {
    const backend = await fakeBackendForTest()
    const env = { AUTH_BACKEND_URL: backend.url, LIMITS: onlyLimits({ ip_attempts: { points: 7, windowS: 60 } }), REDIS_KEY_PREFIX: `t:pair${Date.now()}:` }
    const apps = [await buildTestApp({ env }), await buildTestApp({ env })]
    const admitted = []
    for (let i = 0; i < 20; i++) {
      const res = await attempt(apps[i % 2] as FastifyInstance, '198.51.100.90', 'alice', 'wrong')
      if (res.statusCode !== 429) admitted.push(i)
    }
    expect(admitted).toHaveLength(7)
  })
})

describe('Redis cost', () => {
  async function appOnOwnRedis (limits: LimitOverrides, redisUrl?: string, env: Record<string, string> = {}) {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, REDIS_URL: redisUrl?.replace('PORT', String(redis.port)) ?? redis.url, LIMITS: onlyLimits(limits), ...env } })
    return { app, redis }
  }

  it('refuses an already blocked key without a single Redis command', async () => {
    const { app, redis } = await appOnOwnRedis({ ip_attempts: { points: 2, windowS: 60 }, ip_failures: { points: 100, windowS: 3600 }, user_failures_short: { points: 100, windowS: 600 } })
    const commands = await commandCounter(redis.url)
    for (let i = 0; i < 3; i++) await attempt(app, '198.51.100.99', `u${i}`, 'wrong')
    await sleep(200) // the refusal's refunds are sent after its answer
    const before = await commands()
    for (let i = 0; i < 50; i++) {
      expect((await attempt(app, '198.51.100.99', `other${i}`, 'wrong')).statusCode).toBe(429)
    }
    expect(await commands()).toBe(before)
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/lg_limit_block_cache_hits_total\{limit="ip_attempts"\} 50/)
  })

  it('refuses a blocked address from its headers, before reading the body, unless a device token may change it', async () => {
    const { app } = await limitedApp({ ip_attempts: { points: 2, windowS: 60 } })
    for (let i = 0; i < 3; i++) await attempt(app, '198.51.100.98', `u${i}`, 'wrong')
    // A body that validation would refuse (400) is never looked at: the address is refused first.
    const garbage = await app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '198.51.100.98', headers: { 'content-type': 'application/json' }, payload: '{"username": [' })
    expect(garbage.statusCode).toBe(429)
    expect(garbage.json()).toMatchObject({ code: 'too_many_attempts' })
    expect(garbage.headers['ratelimit-policy']).toBe('"ip_attempts";q=2;w=60')
    // With a device token the body must be read to know whose it is: the request goes on (and fails validation).
    const withToken = await app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '198.51.100.98', headers: { 'content-type': 'application/json', 'x-device-token': 'v1.x.y' }, payload: '{"username": [' })
    expect(withToken.json().code).toBe('invalid_request')
  })

  it('checks every limit of a login in one round trip: one in all for a failure, two for a success', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const relay = await roundTripRelay(redis.port)
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, REDIS_URL: relay.url, LIMITS: onlyLimits({}).replaceAll('"enabled":false', '"enabled":true') } })
    // Warm-up: load the Lua scripts and learn the address.
    await attempt(app, '198.51.100.100', 'alice', 'right-pass')
    await attempt(app, '198.51.100.100', 'alice', 'wrong')

    const beforeFailure = relay.roundTrips()
    expect((await attempt(app, '198.51.100.100', 'alice', 'wrong')).statusCode).toBe(401)
    expect(relay.roundTrips() - beforeFailure).toBe(1)

    const beforeSuccess = relay.roundTrips()
    expect((await attempt(app, '198.51.100.100', 'alice', 'right-pass')).statusCode).toBe(200)
    expect(relay.roundTrips() - beforeSuccess).toBe(2)
  })

  it('keeps limits with the insurance limiter while Redis is dead, with no 500, and resumes on Redis', async () => {
    const { app, redis } = await appOnOwnRedis({ ip_attempts: { points: 4, windowS: 60 } })
    await redis.kill()
    const codes = []
    for (let i = 0; i < 6; i++) codes.push((await attempt(app, '198.51.100.110', 'alice', 'wrong')).statusCode)
    // Within budget: no session can be stored, so 503; past it: the insurance limiter's 429.
    expect(codes).toEqual([503, 503, 503, 503, 429, 429])
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/lg_limit_insurance_total\{limit="ip_attempts"\} [4-6]/)

    await redis.restart()
    let resumed = false
    for (let i = 0; i < 50 && !resumed; i++) {
      await sleep(100)
      // A fresh address each time: the refused retries of the last second count as attempts too.
      resumed = (await attempt(app, `203.0.113.${i + 1}`, 'alice', 'right-pass')).statusCode === 200
    }
    expect(resumed).toBe(true)
    const insuranceBefore = /lg_limit_insurance_total\{limit="ip_attempts"\} (\d+)/.exec((await app.inject({ url: '/metrics' })).body)?.[1]
    expect((await attempt(app, '198.51.100.112', 'alice', 'wrong')).statusCode).toBe(401)
    const insuranceAfter = /lg_limit_insurance_total\{limit="ip_attempts"\} (\d+)/.exec((await app.inject({ url: '/metrics' })).body)?.[1]
    expect(insuranceAfter).toBe(insuranceBefore)
  })

  it('keeps a flood of fresh addresses within LIMIT_INSURANCE_MAX_KEYS while Redis is dead, and the count of an address it keeps trying', async () => {
    const { app, redis } = await appOnOwnRedis({ ip_attempts: { points: 60, windowS: 60 } }, undefined, { LIMIT_INSURANCE_MAX_KEYS: '100' })
    await redis.kill()
    const tried = []
    for (let i = 0; i < 600; i++) {
      // Each flood address tries once and is never seen again; between them one address keeps
      // trying. Its 60th attempt comes 118 flood keys after its first: with the oldest key
      // forgotten first, whatever its use, it would start over and never be refused.
      if (i % 3 === 0) tried.push((await attempt(app, '198.51.100.130', 'alice', 'wrong')).statusCode)
      else await attempt(app, `10.${(i >> 8) & 255}.${i & 255}.1`, `u${i}`, 'wrong')
    }
    expect(tried.slice(0, 60)).toEqual(Array.from({ length: 60 }, () => 503))
    expect(new Set(tried.slice(60))).toEqual(new Set([429]))
    const keys = Number(/lg_limit_insurance_keys (\d+)/.exec((await app.inject({ url: '/metrics' })).body)?.[1])
    // 401 addresses in all: without the bound, one key each.
    expect(keys).toBe(100)
  })

  it('gives each replica its share of the budget while Redis is dead', async () => {
    const { app, redis } = await appOnOwnRedis({ ip_attempts: { points: 6, windowS: 60 } }, undefined, { GATEWAY_REPLICAS: '2' })
    await redis.kill()
    const codes = []
    for (let i = 0; i < 5; i++) codes.push((await attempt(app, '198.51.100.120', 'alice', 'wrong')).statusCode)
    expect(codes).toEqual([503, 503, 503, 429, 429])
  })
})

describe('the shared test Redis', () => {
  it('is what these tests use unless they start their own', () => {
    expect(inject('redisUrl')).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/)
  })
})
