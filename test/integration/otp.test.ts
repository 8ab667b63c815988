import { setTimeout as sleep } from 'node:timers/promises'
import { type FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { type BackendScript, fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { webhookProvider, webhookSink, type WebhookSink } from '../helpers/otp-webhook-sink.js'
import { buildTestApp, capturedLogger, jsonLogin } from '../helpers/test-app.js'

const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers: { 'content-type': 'application/json', ...headers } })

/** Users with a second factor: bob (phone and email), carol and dave (phones, same country). */
const users: BackendScript = ({ username, password }) => {
  if (password !== 'pass') return { status: 401 }
  const phones: Record<string, string> = { bob: '+8613812345678', carol: '+8613900000001', dave: '+8613900000002' }
  const phone = phones[username]
  if (phone === undefined) return { status: 401 }
  return { status: 200, body: { userId: `u-${username}`, mfa: { phone, ...(username === 'bob' ? { email: 'bob@example.com' } : {}) } } }
}

interface Setup {
  sms?: WebhookSink[]
  /** Per SMS provider (same index as `sms`): priority (default: its position) and timeoutMs. */
  smsSettings?: Array<{ priority?: number, timeoutMs?: number }>
  voice?: WebhookSink
  email?: WebhookSink
  env?: Record<string, string>
  clock?: { now: number }
}

async function otpApp (setup: Setup = {}) {
  const backend = await fakeBackendForTest(users)
  const sms = setup.sms ?? [await webhookSink()]
  const voice = setup.voice ?? await webhookSink()
  const email = setup.email ?? await webhookSink()
  const providers = [
    ...sms.map((sink, i) => webhookProvider(`sms${i + 1}`, sink, ['sms'], setup.smsSettings?.[i]?.priority ?? i + 1, setup.smsSettings?.[i]?.timeoutMs)),
    webhookProvider('voice1', voice, ['voice'], 1),
    webhookProvider('email1', email, ['email'], 1)
  ]
  const captured = capturedLogger('info')
  const clock = setup.clock
  const app = await buildTestApp({
    env: { AUTH_BACKEND_URL: backend.url, OTP_PROVIDERS: JSON.stringify(providers), OTP_BREAKER_RESET_TIMEOUT_MS: '60000', ...setup.env },
    logger: captured.logger,
    ...(clock ? { now: () => clock.now } : {})
  })
  const login = async (username = 'bob') => {
    const res = await app.inject(jsonLogin(username, 'pass'))
    expect(res.json().status).toBe('otp_required')
    return res.json().challengeId as string
  }
  const send = (challengeId: string, channel?: string, headers?: Record<string, string>) => post(app, '/auth/otp/send', { challengeId, ...(channel ? { channel } : {}) }, headers)
  const verify = (challengeId: string, code: string) => post(app, '/auth/otp/verify', { challengeId, code })
  return { app, sms, voice, email, login, send, verify, captured }
}

/** A refused send: too_many_attempts with Retry-After and the RateLimit fields of the policy that refused it. */
function expectSendLimit (res: Awaited<ReturnType<FastifyInstance['inject']>> | undefined, policy: string, budget: number, windowS: number) {
  expect(res?.statusCode).toBe(429)
  const retryAfter = Number(res?.headers['retry-after'])
  expect(retryAfter).toBeGreaterThan(0)
  expect(res?.json()).toMatchObject({ code: 'too_many_attempts', retryAfter })
  expect(res?.headers['ratelimit-policy']).toBe(`"${policy}";q=${budget};w=${windowS}`)
  expect(res?.headers.ratelimit).toBe(`"${policy}";r=0;t=${retryAfter}`)
}

describe('a login with a second factor', () => {
  it('goes login → send → verify, and the session works while the challenge is gone', async () => {
    const { app, sms, login, send, verify } = await otpApp()
    const challengeId = await login()
    const sent = await send(challengeId)
    expect(sent.statusCode).toBe(200)
    expect(sent.json()).toMatchObject({ status: 'sent', channel: 'sms', destination: '138****5678', resendAfter: 60 })
    expect(sms[0]?.delivered).toHaveLength(1)
    const message = sms[0]?.delivered[0]
    expect(message).toMatchObject({ channel: 'sms', to: '+8613812345678' })
    expect(message?.code).toMatch(/^\d{6}$/)
    expect(message?.text).toContain(message?.code)

    const done = await verify(challengeId, message?.code ?? '')
    expect(done.statusCode).toBe(200)
    expect(done.json()).toMatchObject({ status: 'authenticated', userId: 'u-bob' })
    expect(done.cookies.map(c => c.name).sort()).toEqual(['did', 'sid'])
    const session = await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${done.json().token}` } })
    expect(session.json()).toMatchObject({ status: 'active', userId: 'u-bob' })

    const again = await verify(challengeId, message?.code ?? '')
    expect(again.statusCode).toBe(410)
    expect(again.json().code).toBe('challenge_expired')
  })

  it('repeats the same code on a resend, so a late first message still works', async () => {
    const { login, send, sms, voice } = await otpApp({ env: { OTP_RESEND_COOLDOWN_S: '0' } })
    const challengeId = await login()
    await send(challengeId)
    await send(challengeId)
    await send(challengeId, 'voice')
    const codes = [...(sms[0]?.delivered ?? []), ...voice.delivered].map(d => d.code)
    expect(codes).toHaveLength(3)
    expect(new Set(codes).size).toBe(1)
    expect(voice.delivered[0]?.text).toContain(codes[0]?.split('').join(' '))
  })

  it('sends by voice or email at once after an SMS, but waits out the cooldown on one channel', async () => {
    const { login, send } = await otpApp()
    const challengeId = await login()
    expect((await send(challengeId, 'sms')).statusCode).toBe(200)
    const tooSoon = await send(challengeId, 'sms')
    expect(tooSoon.statusCode).toBe(429)
    expect(Number(tooSoon.headers['retry-after'])).toBeGreaterThan(55)
    expectSendLimit(tooSoon, 'otp_resend_cooldown', 1, 60)
    expect((await send(challengeId, 'voice')).statusCode).toBe(200)
    expect((await send(challengeId, 'email')).json()).toMatchObject({ channel: 'email', destination: 'b***@example.com' })
  })

  it('refuses a channel the user has no destination for', async () => {
    const { login, send } = await otpApp()
    const challengeId = await login('carol')
    const res = await send(challengeId, 'email')
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'invalid_request', errors: [{ field: 'channel' }] })
  })
})

describe('wrong, used and expired codes', () => {
  it('counts attempts down, burns the challenge on the fifth wrong code and refuses the sixth', async () => {
    const { login, send, verify, sms } = await otpApp()
    const challengeId = await login()
    await send(challengeId)
    const right = sms[0]?.delivered[0]?.code ?? ''
    const wrong = right === '000000' ? '111111' : '000000'
    for (let left = 4; left >= 0; left--) {
      const res = await verify(challengeId, wrong)
      expect(res.statusCode).toBe(401)
      expect(res.json()).toMatchObject({ code: 'invalid_code', attemptsLeft: left })
    }
    const sixth = await verify(challengeId, right)
    expect(sixth.statusCode).toBe(410)
    expect(sixth.json().code).toBe('challenge_expired')
  })

  it('refuses any code before one was sent', async () => {
    const { login, verify } = await otpApp()
    const challengeId = await login()
    expect((await verify(challengeId, '123456')).json()).toMatchObject({ code: 'invalid_code', attemptsLeft: 4 })
  })

  it('answers challenge_expired once the challenge has expired', async () => {
    const clock = { now: Date.now() }
    const { login, send, verify, sms } = await otpApp({ clock })
    const challengeId = await login()
    await send(challengeId)
    clock.now += 301_000
    expect((await verify(challengeId, sms[0]?.delivered[0]?.code ?? '')).json().code).toBe('challenge_expired')
    expect((await send(challengeId, 'voice')).json().code).toBe('challenge_expired')
    expect((await send('x'.repeat(32))).json().code).toBe('challenge_expired')
  })

  it('lets only one of two requests with the right code in', async () => {
    const { login, send, verify, sms } = await otpApp()
    const challengeId = await login()
    await send(challengeId)
    const code = sms[0]?.delivered[0]?.code ?? ''
    const answers = await Promise.all([verify(challengeId, code), verify(challengeId, code)])
    expect(answers.map(a => a.statusCode).sort()).toEqual([200, 410])
  })
})

describe('SMS pumping protection', () => {
  it('caps sends per challenge', async () => {
    const { login, send } = await otpApp({ env: { OTP_RESEND_COOLDOWN_S: '0', OTP_MAX_SENDS_PER_CHALLENGE: '3' } })
    const challengeId = await login()
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await send(challengeId))
    expect(answers.map(a => a.statusCode)).toEqual([200, 200, 200, 429])
    expectSendLimit(answers[3], 'otp_sends_per_challenge', 3, 300)
  })

  it('caps sends per destination per day, across challenges', async () => {
    const { login, send } = await otpApp({ env: { OTP_SENDS_PER_DESTINATION_PER_DAY: '2' } })
    const answers = []
    for (let i = 0; i < 3; i++) answers.push(await send(await login()))
    expect(answers.map(a => a.statusCode)).toEqual([200, 200, 429])
    expectSendLimit(answers[2], 'otp_destination_day', 2, 86_400)
  })

  it('caps sends per country calling code per hour', async () => {
    const { login, send } = await otpApp({ env: { OTP_SENDS_PER_COUNTRY_PER_HOUR: '2' } })
    const answers = []
    for (const user of ['bob', 'carol', 'dave']) answers.push(await send(await login(user)))
    expect(answers.map(a => a.statusCode)).toEqual([200, 200, 429])
    expectSendLimit(answers[2], 'otp_country_hour', 2, 3600)
    // Email has no calling code: bob can still get his code that way.
    expect((await send(await login('bob'), 'email')).statusCode).toBe(200)
  })
})

describe('provider failover', () => {
  it.each([
    ['answers 500', { status: 500 }],
    ['hangs', { hang: true as const }],
    ['drops the connection', { destroy: true as const }]
  ])('delivers through the secondary when the primary %s', async (_name, reply) => {
    const primary = await webhookSink(() => reply)
    const secondary = await webhookSink()
    const { login, send } = await otpApp({ sms: [primary, secondary] })
    const started = performance.now()
    const res = await send(await login())
    expect(res.statusCode).toBe(200)
    expect(performance.now() - started).toBeLessThan(2000)
    expect(primary.calls()).toBe(1)
    expect(secondary.delivered).toHaveLength(1)
  })

  it('delivers through the secondary when the primary refuses connections', async () => {
    const primary = await webhookSink()
    const secondary = await webhookSink()
    await primary.refuse()
    const { login, send } = await otpApp({ sms: [primary, secondary] })
    expect((await send(await login())).statusCode).toBe(200)
    expect(secondary.delivered).toHaveLength(1)
  })

  it('skips a primary whose breaker is open, without calling it', async () => {
    const primary = await webhookSink(() => ({ status: 503 }))
    const secondary = await webhookSink()
    const { app, login, send } = await otpApp({ sms: [primary, secondary], env: { OTP_BREAKER_VOLUME_THRESHOLD: '3' } })
    for (let i = 0; i < 3; i++) expect((await send(await login())).statusCode).toBe(200)
    expect(primary.calls()).toBe(3)
    for (let i = 0; i < 5; i++) expect((await send(await login())).statusCode).toBe(200)
    expect(primary.calls()).toBe(3)
    expect(secondary.delivered).toHaveLength(8)
    const metrics = (await app.inject({ url: '/metrics' })).body
    expect(metrics).toContain('lg_otp_provider_sends_total{provider="sms1",outcome="skipped"} 5')
    expect(metrics).toContain('lg_otp_channel_total{channel="sms",outcome="failed_over"} 8')
    expect(metrics).toContain('lg_breaker_state{breaker="otp_sms1",state="open"} 1')
  })

  it('hedges to the next provider when the first is slow, if configured', async () => {
    // The primary hangs and would time out only after 5 s: an answer well before that is the hedge's.
    const primary = await webhookSink(() => ({ hang: true }))
    const secondary = await webhookSink()
    const { login, send } = await otpApp({ sms: [primary, secondary], smsSettings: [{ timeoutMs: 5000 }], env: { OTP_HEDGE_MS: '100' } })
    const challengeId = await login()
    const started = performance.now()
    expect((await send(challengeId)).statusCode).toBe(200)
    expect(performance.now() - started).toBeLessThan(1500)
    expect(primary.calls()).toBe(1)
    expect(secondary.delivered).toHaveLength(1)
  })

  it('demotes a provider that a hedge keeps beating below the other of its priority, and counts it cancelled, not failed', async () => {
    const slow = await webhookSink(() => ({ hang: true }))
    const fast = await webhookSink()
    const { app, login, send } = await otpApp({ sms: [slow, fast], smsSettings: [{ priority: 1, timeoutMs: 5000 }, { priority: 1 }], env: { OTP_HEDGE_MS: '200' } })
    expect((await send(await login())).statusCode).toBe(200) // sms1 first (same score, by name), the hedge wins
    expect([slow.calls(), fast.delivered.length]).toEqual([1, 1])
    expect((await send(await login('carol'))).statusCode).toBe(200)
    expect([slow.calls(), fast.delivered.length]).toEqual([1, 2]) // the fast one first now: no hedge delay paid
    const metrics = (await app.inject({ url: '/metrics' })).body
    expect(metrics).toContain('lg_otp_provider_sends_total{provider="sms1",outcome="cancelled"} 1')
    expect(metrics).not.toContain('lg_otp_provider_sends_total{provider="sms1",outcome="failed"}')
  })

  it('tells the user what to do instead when every SMS provider is down, and voice then works', async () => {
    const a = await webhookSink(() => ({ status: 500 }))
    const b = await webhookSink(() => ({ status: 502 }))
    const { login, send, voice } = await otpApp({ sms: [a, b] })
    const challengeId = await login()
    const failed = await send(challengeId, 'sms', { 'accept-language': 'zh-CN' })
    expect(failed.statusCode).toBe(503)
    expect(failed.json()).toMatchObject({ code: 'otp_delivery_failed', alternatives: ['voice', 'email'], retryAfter: 5 })
    expect(failed.headers['retry-after']).toBe('5') // no breaker open yet: worth a retry soon
    expect(failed.json().detail).toBe('暂时无法通过短信发送验证码。您可以改用语音电话或邮件接收。')
    const english = await send(challengeId, 'sms')
    expect(english.json().detail).toBe('We could not send your code by SMS right now. You can get it by voice call or email instead.')

    const byVoice = await send(challengeId, 'voice') // no cooldown: nothing went out by SMS
    expect(byVoice.statusCode).toBe(200)
    expect(voice.delivered).toHaveLength(1)
  })

  it('offers only channels that have a provider whose breaker is not open', async () => {
    const sms = await webhookSink(() => ({ status: 500 }))
    const voice = await webhookSink(() => ({ status: 500 }))
    const { login, send } = await otpApp({ sms: [sms], voice, env: { OTP_BREAKER_VOLUME_THRESHOLD: '1', OTP_RESEND_COOLDOWN_S: '0' } })
    const challengeId = await login()
    expect((await send(challengeId, 'voice')).json().code).toBe('otp_delivery_failed') // opens voice's breaker
    expect((await send(challengeId, 'sms')).json().alternatives).toEqual(['email'])
    // Voice's breaker is open: try voice again when its probe is due (OTP_BREAKER_RESET_TIMEOUT_MS, 30 s).
    const again = await send(challengeId, 'voice')
    expect(Number(again.headers['retry-after'])).toBeGreaterThanOrEqual(29)
    expect(again.json().retryAfter).toBe(Number(again.headers['retry-after']))
  })
})

describe('secrets', () => {
  it('never put the code or the full phone number in a log line or an answer', async () => {
    const primary = await webhookSink(() => ({ status: 500 }))
    const secondary = await webhookSink()
    const { login, send, verify, captured } = await otpApp({ sms: [primary, secondary] })
    const challengeId = await login()
    const answers = [await send(challengeId), await send(challengeId, 'email')]
    const code = secondary.delivered[0]?.code ?? ''
    answers.push(await verify(challengeId, code === '000000' ? '000001' : '000000'), await verify(challengeId, code))
    await sleep(20)
    const logs = captured.text()
    expect(logs).toMatch(/otp delivered/)
    expect(logs).toMatch(/"provider":"sms2"/)
    for (const secret of [code, '13812345678', 'bob@example.com']) {
      expect(logs).not.toContain(secret)
      for (const a of answers) expect(a.body).not.toContain(secret)
    }
  })
})
