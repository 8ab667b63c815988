import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type FastifyInstance, type InjectOptions } from 'fastify'
import { describe, expect, it, onTestFinished } from 'vitest'
import { solvePow } from '../../src/challenge/pow.js'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { webhookProvider, webhookSink } from '../helpers/otp-webhook-sink.js'
import { commandCounter, roundTripRelay } from '../helpers/redis-probe.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { buildTestApp, jsonLogin } from '../helpers/test-app.js'

const ADMIN = 'rules-admin-token-0123456789abc'
const admin = { authorization: `Bearer ${ADMIN}` }
const BROWSER = {
  'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  accept: 'application/json',
  'accept-language': 'en-GB,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br'
}

function tempDir (): string {
  const dir = mkdtempSync(join(tmpdir(), 'lg-rules-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function appWithRules (rules: string, env: Record<string, string> = {}, script?: Parameters<typeof fakeBackendForTest>[0], now?: () => number) {
  const dir = tempDir()
  const file = join(dir, 'rules.yaml')
  writeFileSync(file, rules)
  const backend = await fakeBackendForTest(script)
  const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: ADMIN, RULES_FILE: file, DECISION_LOG: join(dir, 'decisions.ndjson'), AUDIT_LOG: join(dir, 'audit.ndjson'), CHALLENGE_POW_DIFFICULTY: '10', ...env }, ...(now ? { now } : {}) })
  return { app, backend, file, dir }
}

const login = (app: FastifyInstance, username: string, password: string, extra: Partial<InjectOptions> = {}, headers: Record<string, string> = BROWSER) =>
  app.inject({ ...jsonLogin(username, password, headers), remoteAddress: '198.51.100.10', ...extra })

const CURL = { 'user-agent': 'curl/8.5.0', accept: '*/*' }

describe('abuse rules', () => {
  it('enforce rules change the answer, shadow rules never do but are counted', async () => {
    const { app } = await appWithRules(`
rules:
  - id: watch-linux
    when: { ua: { matches: 'X11; Linux' } }
    action: block
    mode: shadow
  - id: block-bots
    when: { ua.bot: true }
    action: block
`)
    const shadowOnly = await login(app, 'alice', 'right-pass', {}, { ...BROWSER, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' })
    expect(shadowOnly.statusCode).toBe(200)
    const blocked = await login(app, 'alice', 'right-pass', {}, CURL)
    expect(blocked.statusCode).toBe(403)
    expect(blocked.json()).toMatchObject({ code: 'request_blocked' })
    expect(blocked.json().ruleId).toBeUndefined()
    const rules = (await app.inject({ url: '/admin/rules', headers: admin })).json()
    expect(rules.rules.map((r: { id: string, hits: unknown }) => [r.id, r.hits])).toEqual([
      ['watch-linux', { enforced: 0, shadow: 1 }],
      ['block-bots', { enforced: 1, shadow: 0 }]
    ])
  })

  it('evaluate in order and forget expired rules', async () => {
    const { app } = await appWithRules(`
rules:
  - id: office-first
    when: { ip: { cidr: [198.51.100.0/24] } }
    action: allow
  - id: block-everyone
    when: { ua.missing: false }
    action: block
  - id: expired-block
    when: { ua.missing: true }
    action: block
    expires: 2020-01-01T00:00:00Z
`)
    expect((await login(app, 'alice', 'right-pass')).statusCode).toBe(200) // allowed before the block
    expect((await login(app, 'alice', 'right-pass', { remoteAddress: '203.0.113.9' })).statusCode).toBe(403)
    expect((await login(app, 'alice', 'right-pass', { remoteAddress: '203.0.113.9' }, { accept: '*/*', 'user-agent': '' })).statusCode).toBe(200)
  })

  it('step a risky login up to a one-time code even when the backend asks for none, and refuse it when there is nobody to send one to', async () => {
    const sink = await webhookSink()
    const { app } = await appWithRules(`
rules:
  - id: step-up-missing-language
    when: { anomalies: { includes: missing_accept_language } }
    action: step-up
`, { OTP_PROVIDERS: JSON.stringify([webhookProvider('mail', sink, ['email'], 1)]) }, ({ username, password }) => password === 'right-pass'
      ? { status: 200, body: { userId: `u-${username}`, ...(username === 'alice' ? { contacts: { email: 'alice@example.com' } } : {}) } }
      : { status: 401 })
    const stepped = await login(app, 'alice', 'right-pass', {}, { 'user-agent': BROWSER['user-agent'], accept: '*/*' })
    expect(stepped.json()).toMatchObject({ status: 'otp_required', channels: ['email'], destination: 'a***@example.com' })
    // Nobody to send a code to: refused, never let through unchecked.
    const unreachable = await login(app, 'carol', 'right-pass', {}, { 'user-agent': BROWSER['user-agent'], accept: '*/*' })
    expect(unreachable.statusCode).toBe(403)
    expect(unreachable.json()).toMatchObject({ code: 'request_blocked' })
    expect(unreachable.json().token).toBeUndefined()
    expect((await app.inject({ url: '/admin/decisions?limit=1', headers: admin })).json().decisions[0]).toMatchObject({ outcome: 'request_blocked', verdict: { action: 'step-up' } })
    expect((await login(app, 'carol', 'right-pass')).json().status).toBe('authenticated') // the rule does not match
    expect((await login(app, 'alice', 'right-pass')).json().status).toBe('authenticated')
  })

  it('catch a filled honeypot field and credential-stuffing velocity', async () => {
    const { app } = await appWithRules(`
rules:
  - id: honeypot
    when: { honeypot: true }
    action: block
  - id: stuffing
    when:
      velocity.usernamesPerIp: { gt: 5 }
      velocity.failureRatioPerIp: { gte: 0.8 }
    action: block
`)
    const bait = await app.inject({ method: 'POST', url: '/auth/login', headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=alice&password=right-pass&website=http%3A%2F%2Fspam', remoteAddress: '198.51.100.30' })
    expect(bait.json().code).toBe('request_blocked')
    const codes = []
    for (let i = 0; i < 8; i++) codes.push((await login(app, `victim${i}`, 'guess', { remoteAddress: '198.51.100.31' })).statusCode)
    expect(codes).toEqual([401, 401, 401, 401, 401, 403, 403, 403])
  })
})

describe('refusals decided before the counters', () => {
  async function onOwnRedis (rules: string) {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const { app } = await appWithRules(rules, { REDIS_URL: redis.url })
    return { app, commands: await commandCounter(redis.url) }
  }

  it('refuse an address the rules just refused, and a declared bot, without a Redis command', async () => {
    const { app, commands } = await onOwnRedis(`
rules:
  - id: stuffing
    when:
      velocity.usernamesPerIp: { gt: 5 }
      velocity.failureRatioPerIp: { gte: 0.8 }
    action: challenge
  - id: bots
    when: { ua: { matches: '^curl/' } }
    action: block
`)
    const from = { remoteAddress: '198.51.100.40' }
    for (let i = 0; i < 7; i++) await login(app, `victim${i}`, 'guess', from)
    const first = await login(app, 'victim7', 'guess', from)
    expect(first.json().code).toBe('challenge_required') // read from the counters, remembered
    // A bot's first request is judged on the full path: the rule above might challenge it instead.
    expect((await login(app, 'any', 'x', { remoteAddress: '192.0.2.9' }, CURL)).json().code).toBe('request_blocked')
    await sleep(200) // the refusal's refunds are sent after its answer
    const before = await commands()
    for (let i = 0; i < 20; i++) expect((await login(app, `next${i}`, 'guess', from)).json().code).toBe('challenge_required')
    for (let i = 0; i < 20; i++) expect((await login(app, `any${i}`, 'x', { remoteAddress: '192.0.2.9' }, CURL)).json().code).toBe('request_blocked')
    expect(await commands()).toBe(before)
    // The decisions say so, and another address is judged on its own counters.
    const decisions = (await app.inject({ url: '/admin/decisions?limit=1', headers: { authorization: `Bearer ${ADMIN}` } })).json().decisions
    expect(decisions[0]).toMatchObject({ early: true, beforeBody: true, verdict: { action: 'block', ruleId: 'bots' } })
    expect(decisions[0].unknown).toEqual(expect.arrayContaining(['honeypot', 'velocity.usernamesPerDevice']))
    expect(decisions[0].unknown).not.toContain('velocity.usernamesPerIp') // read a moment ago
    expect((await login(app, 'alice', 'right-pass', { remoteAddress: '198.51.100.41' })).json().status).toBe('authenticated')
  })

  it('still let a solved challenge through from a remembered address', async () => {
    const { app } = await onOwnRedis(`
rules:
  - id: stuffing
    when:
      velocity.usernamesPerIp: { gt: 3 }
      velocity.failureRatioPerIp: { gte: 0.5 }
    action: challenge
`)
    const from = { remoteAddress: '198.51.100.42' }
    let refused
    for (let i = 0; i < 6; i++) refused = await login(app, `victim${i}`, 'guess', from)
    const { challenge } = refused?.json() as { challenge: { token: string, difficulty: number } }
    const solution = solvePow(challenge.token, challenge.difficulty)
    const answered = await login(app, 'alice', 'right-pass', from, { ...BROWSER, 'x-challenge-response': `pow ${challenge.token}:${solution}` })
    expect(answered.json().status).toBe('authenticated')
  })

  it('challenge new devices while most logins fail across the replica, and let trusted devices in', async () => {
    const { app } = await onOwnRedis(`
rules:
  - id: surge
    when:
      velocity.globalAttempts: { gte: 20 }
      velocity.globalFailureRatio: { gte: 0.5 }
      trustedDevice: false
    action: challenge
`)
    const signedIn = await login(app, 'alice', 'right-pass', { remoteAddress: '10.1.0.1' })
    const deviceToken = signedIn.json().deviceToken as string
    // A wave from everywhere: no address tries twice.
    for (let i = 0; i < 30; i++) await login(app, `leaked${i}`, 'guess', { remoteAddress: `45.${i}.7.9` })
    expect((await login(app, 'bob2', 'right-pass', { remoteAddress: '10.1.0.2' })).json().code).toBe('challenge_required')
    expect((await login(app, 'alice', 'right-pass', { remoteAddress: '10.1.0.3' }, { ...BROWSER, 'x-device-token': deviceToken })).json().status).toBe('authenticated')
  })

  const SURGE = `
rules:
  - id: surge
    when:
      velocity.globalAttempts: { gte: 20 }
      velocity.globalFailureRatio: { gte: 0.5 }
      trustedDevice: false
    action: challenge
`

  it('let the wave\'s rule go once people prove themselves: a solved puzzle takes its refusal back out', async () => {
    const { app } = await onOwnRedis(SURGE)
    for (let i = 0; i < 30; i++) await login(app, `leaked${i}`, 'guess', { remoteAddress: `45.${i}.7.9` })
    let challenged = 0
    for (let i = 0; i < 40; i++) {
      const from = { remoteAddress: `10.5.0.${i + 1}` }
      const refused = await login(app, 'alice', 'right-pass', from)
      if (refused.json().code !== 'challenge_required') continue
      challenged++
      const { token, difficulty } = refused.json().challenge as { token: string, difficulty: number }
      expect((await login(app, 'alice', 'right-pass', from, { ...BROWSER, 'x-challenge-response': `pow ${token}:${solvePow(token, difficulty)}` })).json().status).toBe('authenticated')
    }
    // Honest people solving their puzzles bring the share of failures down, and the wave's rule stops.
    expect(challenged).toBeGreaterThan(5)
    expect(challenged).toBeLessThan(40)
    expect((await login(app, 'alice', 'right-pass', { remoteAddress: '10.5.1.1' })).json().status).toBe('authenticated')
  })

  it('do not let one client hold the wave\'s rule on with refusals it never solves', async () => {
    const { app } = await onOwnRedis(SURGE)
    const deviceToken = (await login(app, 'alice', 'right-pass', { remoteAddress: '10.6.0.1' })).json().deviceToken as string
    for (let i = 0; i < 20; i++) await login(app, `leaked${i}`, 'guess', { remoteAddress: `45.${i}.8.9` })
    for (let i = 0; i < 50; i++) expect((await login(app, `again${i}`, 'guess', { remoteAddress: '203.0.113.77' })).json().code).toBe('challenge_required')
    for (let i = 0; i < 30; i++) expect((await login(app, 'alice', 'right-pass', { remoteAddress: `10.6.1.${i + 1}` }, { ...BROWSER, 'x-device-token': deviceToken })).statusCode).toBe(200)
    expect((await login(app, 'alice', 'right-pass', { remoteAddress: '10.6.2.1' })).json().status).toBe('authenticated')
  })

  it('leave the replica-wide share alone for an attack that another rule already answers', async () => {
    const { app } = await onOwnRedis(`
rules:
  - id: stuffing
    when:
      velocity.usernamesPerIp: { gt: 5 }
      velocity.failureRatioPerIp: { gte: 0.8 }
    action: challenge
  - id: surge
    when:
      velocity.globalAttempts: { gte: 20 }
      velocity.globalFailureRatio: { gte: 0.5 }
      trustedDevice: false
    action: challenge
`)
    for (let i = 0; i < 60; i++) await login(app, `leaked${i}`, 'guess', { remoteAddress: '198.51.100.60' })
    const decisions = (await app.inject({ url: '/admin/decisions?limit=1', headers: { authorization: `Bearer ${ADMIN}` } })).json().decisions
    expect(decisions[0]).toMatchObject({ verdict: { action: 'challenge', ruleId: 'stuffing' } })
    expect((await login(app, 'alice', 'right-pass', { remoteAddress: '10.1.0.9' })).json().status).toBe('authenticated')
  })

  it('draw canary rules from a value the client cannot choose', async () => {
    const { app } = await onOwnRedis(`
rules:
  - { id: half, when: { method: { equals: POST } }, action: block, mode: canary, canaryPercent: 50 }
`)
    const codes = new Set<number>()
    for (let i = 0; i < 40; i++) codes.add((await login(app, 'alice', 'right-pass', { remoteAddress: `10.2.0.${i + 1}` }, { ...BROWSER, 'x-request-id': 'always-the-same' })).statusCode)
    expect([...codes].sort()).toEqual([200, 403])
  })
})

describe('challenges', () => {
  const challengeRule = `
rules:
  - id: challenge-scripts
    when: { anomalies: { includes: missing_accept_language } }
    action: challenge
`
  const script = { 'user-agent': BROWSER['user-agent'], accept: '*/*' }

  it('let a solved proof of work through once, and refuse replays and other addresses', async () => {
    const { app } = await appWithRules(challengeRule)
    const first = await login(app, 'alice', 'right-pass', {}, script)
    expect(first.statusCode).toBe(403)
    const { challenge } = first.json() as { challenge: { type: string, token: string, difficulty: number, respondWith: string } }
    expect(challenge).toMatchObject({ type: 'pow', algorithm: 'sha256', difficulty: 10 })
    const answer = `pow ${challenge.token}:${solvePow(challenge.token, challenge.difficulty)}`

    expect((await login(app, 'alice', 'right-pass', { remoteAddress: '198.51.100.77' }, { ...script, 'x-challenge-response': answer })).statusCode).toBe(403) // foreign
    expect((await login(app, 'alice', 'right-pass', {}, { ...script, 'x-challenge-response': answer })).statusCode).toBe(200)
    expect((await login(app, 'alice', 'right-pass', {}, { ...script, 'x-challenge-response': answer })).statusCode).toBe(403) // used
    expect((await login(app, 'alice', 'right-pass', {}, { ...script, 'x-challenge-response': 'pow garbage' })).statusCode).toBe(403)
  })

  it('refuse an expired solution', async () => {
    const clock = { now: Date.now() }
    const { app } = await appWithRules(challengeRule, { CHALLENGE_TTL_S: '10' }, undefined, () => clock.now)
    const { challenge } = (await login(app, 'alice', 'right-pass', {}, script)).json() as { challenge: { token: string, difficulty: number } }
    const answer = `pow ${challenge.token}:${solvePow(challenge.token, challenge.difficulty)}`
    clock.now += 11_000
    expect((await login(app, 'alice', 'right-pass', {}, { ...script, 'x-challenge-response': answer })).statusCode).toBe(403)
  })

  it('give two people behind one address puzzles of their own, so that both get in', async () => {
    const { app } = await appWithRules(challengeRule)
    const offer = async () => ((await login(app, 'alice', 'right-pass', {}, script)).json() as { challenge: { token: string, difficulty: number } }).challenge
    const [first, second] = [await offer(), await offer()]
    expect(second.token).not.toBe(first.token)
    for (const c of [first, second]) {
      const answer = `pow ${c.token}:${solvePow(c.token, c.difficulty)}`
      expect((await login(app, 'alice', 'right-pass', {}, { ...script, 'x-challenge-response': answer })).statusCode).toBe(200)
    }
  })

  it('turn a username-wide failure limit into a challenge instead of a lockout', async () => {
    const { app } = await appWithRules('rules: []\n', { LIMITS: JSON.stringify({ user_failures_short: { points: 2, windowS: 600 } }) })
    for (let i = 0; i < 2; i++) expect((await login(app, 'alice', 'guess', { remoteAddress: `203.0.113.${i}` })).statusCode).toBe(401)
    const locked = await login(app, 'alice', 'right-pass', { remoteAddress: '203.0.113.50' })
    expect(locked.statusCode).toBe(429)
    expect(locked.json()).toMatchObject({ code: 'challenge_required', challenge: { type: 'pow' } })
    const { token, difficulty } = locked.json().challenge as { token: string, difficulty: number }
    const solved = await login(app, 'alice', 'right-pass', { remoteAddress: '203.0.113.50' }, { ...BROWSER, 'x-challenge-response': `pow ${token}:${solvePow(token, difficulty)}` })
    expect(solved.statusCode).toBe(200)
  })

  it('accept an external CAPTCHA verified against its siteverify endpoint', async () => {
    const seen: string[] = []
    const siteverify = createServer((req, res) => {
      let body = ''
      req.on('data', c => { body += String(c) })
      req.on('end', () => {
        const form = new URLSearchParams(body)
        seen.push(`${form.get('secret')}|${form.get('response')}|${form.get('remoteip')}`)
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: form.get('response') === 'good-token' }))
      })
    })
    siteverify.listen(0, '127.0.0.1')
    await once(siteverify, 'listening')
    onTestFinished(() => new Promise<void>(resolve => siteverify.close(() => resolve())))
    const url = `http://127.0.0.1:${(siteverify.address() as { port: number }).port}/siteverify`
    const { app } = await appWithRules(challengeRule, { CAPTCHA_VERIFY_URL: url, CAPTCHA_SECRET: 'captcha-secret', CAPTCHA_SITE_KEY: 'site-key-1' })
    const offered = await login(app, 'alice', 'right-pass', {}, script)
    expect(offered.json().challenge.captcha).toEqual({ siteKey: 'site-key-1' })
    expect((await login(app, 'alice', 'right-pass', {}, { ...script, 'x-challenge-response': 'captcha bad-token' })).statusCode).toBe(403)
    expect((await login(app, 'alice', 'right-pass', {}, { ...script, 'x-challenge-response': 'captcha good-token' })).statusCode).toBe(200)
    expect(seen).toEqual(['captcha-secret|bad-token|198.51.100.10', 'captcha-secret|good-token|198.51.100.10'])
  })
})

describe('hot reload', () => {
  it('refuses an invalid rule set through the admin API, naming the rule and field, and keeps the old rules', async () => {
    const { app } = await appWithRules('rules:\n  - id: block-bots\n    when: { ua.bot: true }\n    action: block\n')
    const bad = await app.inject({ method: 'PUT', url: '/admin/rules', headers: { ...admin, 'content-type': 'application/yaml' }, payload: 'rules:\n  - id: bad-cidr\n    when: { ip: { cidr: [10.0.0.0/33] } }\n    action: block\n' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ code: 'invalid_request', errors: [{ ruleId: 'bad-cidr', field: expect.stringContaining('when.ip') }] })
    const broken = await app.inject({ method: 'PUT', url: '/admin/rules', headers: { ...admin, 'content-type': 'application/yaml' }, payload: 'rules: [ {id: x' })
    expect(broken.statusCode).toBe(400)
    expect((await login(app, 'alice', 'right-pass', {}, CURL)).statusCode).toBe(403) // the old rules still serve
  })

  it('reaches a second replica sharing the same Redis', async () => {
    const dir = tempDir()
    const file = join(dir, 'rules.yaml')
    writeFileSync(file, 'rules: []\n')
    const backend = await fakeBackendForTest()
    const env = { AUTH_BACKEND_URL: backend.url, ADMIN_TOKEN: ADMIN, RULES_FILE: file, REDIS_KEY_PREFIX: `t:rules${Date.now()}:` }
    const [a, b] = [await buildTestApp({ env }), await buildTestApp({ env })]
    expect((await login(b as FastifyInstance, 'alice', 'right-pass', {}, CURL)).statusCode).toBe(200)
    const put = await a?.inject({ method: 'PUT', url: '/admin/rules', headers: { ...admin, 'content-type': 'application/json' }, payload: JSON.stringify({ rules: [{ id: 'block-bots', when: { 'ua.bot': true }, action: 'block' }] }) })
    expect(put?.json().version).toMatch(/^[0-9a-f]+$/)
    let blocked = false
    for (let i = 0; i < 40 && !blocked; i++) {
      await sleep(100)
      blocked = (await login(b as FastifyInstance, 'alice', 'right-pass', {}, CURL)).statusCode === 403
    }
    expect(blocked).toBe(true)
    expect((await b?.inject({ url: '/admin/rules', headers: admin }))?.json()).toMatchObject({ version: put?.json().version, origin: 'shared' })
  })

  it('picks up an edited rules file, and ignores a broken edit', async () => {
    const { app, file } = await appWithRules('rules: []\n')
    writeFileSync(file, 'rules:\n  - id: block-bots\n    when: { ua.bot: true }\n    action: block\n')
    let blocked = false
    for (let i = 0; i < 50 && !blocked; i++) {
      await sleep(100)
      blocked = (await login(app, 'alice', 'right-pass', {}, CURL)).statusCode === 403
    }
    expect(blocked).toBe(true)
    writeFileSync(file, 'rules:\n  - id: [broken\n')
    await sleep(2500)
    expect((await login(app, 'alice', 'right-pass', {}, CURL)).statusCode).toBe(403)
  })
})

describe('rule changes and unblocks while Redis is down', () => {
  const yaml = { ...admin, 'content-type': 'application/yaml' }
  const BLOCK_BOTS = 'rules:\n  - id: block-bots\n    when: { ua.bot: true }\n    action: block\n'
  const auditLines = (dir: string) => readFileSync(join(dir, 'audit.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)

  async function appBehindRelay (rules: string) {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const relay = await roundTripRelay(redis.port) // cut the way to Redis without losing its data
    return { relay, ...await appWithRules(rules, { REDIS_URL: relay.url }) }
  }

  it('refuses them with 503 and Retry-After, keeps the rules in force, and does not revert when Redis is back', async () => {
    const { app, relay, dir } = await appBehindRelay('rules: []\n')
    const first = (await app.inject({ url: '/admin/rules', headers: admin })).json().version as string
    const v1 = (await app.inject({ method: 'PUT', url: '/admin/rules', headers: yaml, payload: BLOCK_BOTS })).json().version as string

    await relay.cut()
    const put = await app.inject({ method: 'PUT', url: '/admin/rules', headers: yaml, payload: 'rules: []\n' })
    const patch = await app.inject({ method: 'PATCH', url: '/admin/rules/block-bots', headers: admin, payload: { mode: 'shadow' } })
    const unblock = await app.inject({ method: 'POST', url: '/admin/unblock', headers: admin, payload: { username: 'alice', minutes: 30, reason: 'ticket 4712' } })
    for (const refused of [put, patch, unblock]) {
      expect(refused.statusCode).toBe(503)
      expect(refused.json()).toMatchObject({ code: 'session_store_unavailable', retryAfter: 2 })
      expect(refused.headers['retry-after']).toBe('2')
    }
    expect((await app.inject({ url: '/admin/rules', headers: admin })).json().version).toBe(v1)
    expect((await app.inject({ url: '/admin/explain?username=alice', headers: admin })).json().exemptions).toEqual([])

    await relay.restore()
    await sleep(2200) // two refreshes
    expect((await app.inject({ url: '/admin/rules', headers: admin })).json()).toMatchObject({ version: v1, origin: 'admin' })
    expect((await app.inject({ method: 'POST', url: '/admin/unblock', headers: admin, payload: { username: 'alice', minutes: 30, reason: 'ticket 4712' } })).statusCode).toBe(200)
    await app.close()
    expect(auditLines(dir)).toMatchObject([
      { action: 'rules_replaced', origin: 'admin', version: v1, previousVersion: first, rules: 1 },
      { action: 'unblock', scope: 'username', reason: 'ticket 4712' }
    ])
  })

  it('shares a rules-file edit made during the outage once Redis is back, and audits it', async () => {
    const { app, relay, file, dir } = await appBehindRelay('rules: []\n')
    const first = (await app.inject({ url: '/admin/rules', headers: admin })).json().version as string
    await relay.cut()
    writeFileSync(file, BLOCK_BOTS)
    await sleep(1500) // the watcher saw it; Redis refused it
    expect((await app.inject({ url: '/admin/rules', headers: admin })).json().version).toBe(first)
    await relay.restore()
    let rules: Record<string, unknown> = { version: first }
    for (let i = 0; i < 40 && rules.version === first; i++) {
      await sleep(100)
      rules = (await app.inject({ url: '/admin/rules', headers: admin })).json()
    }
    expect(rules).toMatchObject({ origin: 'file' })
    expect(rules.version).not.toBe(first)
    await app.close()
    expect(auditLines(dir)).toMatchObject([{ action: 'rules_replaced', origin: 'file', version: rules.version, previousVersion: first }])
  })
})

describe('the console\'s admin calls', () => {
  it('switch one rule between shadow and enforce, keeping the file\'s comments', async () => {
    const { app } = await appWithRules('# our rules\nrules:\n  # curl and friends\n  - id: block-bots\n    when: { ua.bot: true }\n    action: block\n    mode: shadow\n')
    expect((await login(app, 'alice', 'right-pass', {}, CURL)).statusCode).toBe(200)
    const patched = await app.inject({ method: 'PATCH', url: '/admin/rules/block-bots', headers: admin, payload: { mode: 'enforce' } })
    expect(patched.json()).toMatchObject({ id: 'block-bots', mode: 'enforce' })
    expect((await login(app, 'alice', 'right-pass', {}, CURL)).statusCode).toBe(403)
    const source = (await app.inject({ url: '/admin/rules', headers: admin })).json().source as string
    expect(source).toContain('# curl and friends')
    expect(source).toContain('mode: enforce')
    expect((await app.inject({ method: 'PATCH', url: '/admin/rules/nope', headers: admin, payload: { mode: 'shadow' } })).statusCode).toBe(404)
  })

  it('replay an uploaded decision log under candidate rules', async () => {
    const { app } = await appWithRules('rules: []\n')
    const log = readFileSync(new URL('../fixtures/decisions.ndjson', import.meta.url), 'utf8')
    const rules = readFileSync(new URL('../fixtures/rules/candidate.yaml', import.meta.url), 'utf8')
    const report = (await app.inject({ method: 'POST', url: '/admin/replay', headers: admin, payload: { log: `${log}not json\n`, rules } })).json()
    const lines = log.split('\n').filter(l => l.trim() !== '').length
    expect(report.decisions).toBeGreaterThan(5)
    expect(report.decisions + report.skippedLines).toBe(lines + 1) // every line read; the broken ones counted
    expect(report.rules.map((r: { id: string }) => r.id).slice(0, 5)).toEqual(['tag-no-lang', 'tighter-failing', 'office-allow', 'block-bots', 'stuffing'])
    const bad = await app.inject({ method: 'POST', url: '/admin/replay', headers: admin, payload: { log, rules: 'rules: [{id: x, when: {}, action: explode}]' } })
    expect(bad.statusCode).toBe(400)
  })

  it('count logins by outcome per minute for the live chart', async () => {
    const { app } = await appWithRules('rules: []\n')
    await login(app, 'alice', 'right-pass')
    await login(app, 'alice', 'wrong')
    await sleep(5200) // one sampling period
    const minutes = (await app.inject({ url: '/admin/stats?minutes=5', headers: admin })).json().minutes as Array<{ logins: Record<string, number>, problems: Record<string, number> }>
    const sum = (k: 'logins' | 'problems', name: string) => minutes.reduce((n, m) => n + (m[k][name] ?? 0), 0)
    expect(sum('logins', 'authenticated')).toBe(1)
    expect(sum('logins', 'invalid_credentials')).toBe(1)
    expect(sum('problems', 'invalid_credentials')).toBe(1)
  })
})

describe('decision log and support tools', () => {
  it('writes one line per decision with features, rules and outcome, never the password or the username', async () => {
    const { app, dir } = await appWithRules('rules:\n  - id: tag-all\n    when: { ua.missing: false }\n    action: { tag: seen }\n  - id: watch\n    when: { ua.bot: true }\n    action: block\n    mode: shadow\n')
    await login(app, 'alice', 'right-pass')
    await login(app, 'alice', 'wrong-secret-pass', {}, CURL)
    await app.close()
    const lines = readFileSync(join(dir, 'decisions.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ user: 'a***e', outcome: 'authenticated', verdict: { enforced: ['tag-all'], tags: ['seen'] }, features: { ua: { browser: true } } })
    expect(lines[1]).toMatchObject({ outcome: 'invalid_credentials', verdict: { shadowed: ['watch'] }, features: { ua: { bot: true } } })
    const text = readFileSync(join(dir, 'decisions.ndjson'), 'utf8')
    expect(text).not.toContain('wrong-secret-pass')
    expect(text).not.toContain('"alice"')
  })

  it('shows recent decisions, explains what holds a user, and grants an audited, expiring unblock', async () => {
    const { app, dir } = await appWithRules('rules: []\n', { LIMITS: JSON.stringify({ user_ip_failures: { points: 2, windowS: 3600, blockS: 600 } }) })
    for (let i = 0; i < 3; i++) await login(app, 'alice', 'guess')
    expect((await login(app, 'alice', 'right-pass')).statusCode).toBe(429)

    const decisions = (await app.inject({ url: '/admin/decisions?limit=2&user=a***e', headers: admin })).json().decisions
    expect(decisions).toHaveLength(2)
    expect(decisions[0]).toMatchObject({ outcome: 'too_many_attempts', limit: 'user_ip_failures' })

    const explained = (await app.inject({ url: '/admin/explain?username=alice&ip=198.51.100.10', headers: admin })).json()
    const held = explained.limits.find((l: { limit: string }) => l.limit === 'user_ip_failures')
    expect(held).toMatchObject({ holds: true, budget: 2 })
    expect(Date.parse(held.until)).toBeGreaterThan(Date.now() + 500_000)

    const granted = await app.inject({ method: 'POST', url: '/admin/unblock', headers: admin, payload: { username: 'alice', minutes: 30, reason: 'ticket 4711: locked herself out' } })
    expect(granted.json()).toMatchObject({ scope: 'username', subject: 'a***e' })
    expect((await login(app, 'alice', 'right-pass')).statusCode).toBe(200)
    await app.close()
    const audit = readFileSync(join(dir, 'audit.ndjson'), 'utf8')
    expect(JSON.parse(audit.trim())).toMatchObject({ action: 'unblock', scope: 'username', subject: 'a***e', reason: 'ticket 4711: locked herself out' })
    expect(audit).not.toContain('"alice"')
  })
})
