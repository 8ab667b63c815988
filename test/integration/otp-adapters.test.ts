import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, onTestFinished } from 'vitest'
import { otpSubject, otpText } from '../../src/otp/message.js'
import { type OtpMessage, type OtpProvider, ProviderError } from '../../src/otp/provider.js'
import { createSmtpProvider } from '../../src/otp/providers/smtp-provider.js'
import { createTwilioProvider } from '../../src/otp/providers/twilio-provider.js'
import { createWebhookProvider } from '../../src/otp/providers/webhook-provider.js'
import { type FakeHttpServer, fakeHttpServerForTest, startFakeHttpServer, TWILIO_ACCOUNT, twilioApi } from '../helpers/fake-otp-http.js'
import { smtpSinkForTest } from '../helpers/fake-smtp-sink.js'

const PHONE = '+8613812345678'
const EMAIL = 'bob@example.com'
const CODE = '804213'
const sms: OtpMessage = { channel: 'sms', to: PHONE, code: CODE, locale: 'en' }
const email: OtpMessage = { channel: 'email', to: EMAIL, code: CODE, locale: 'en' }
const noAbort = () => new AbortController().signal

function closing<T extends OtpProvider> (provider: T): T {
  onTestFinished(() => provider.close())
  return provider
}

// The rejection and how long it took; it must be a ProviderError that names no secret.
async function rejectionOf (work: Promise<unknown>): Promise<{ err: ProviderError, ms: number }> {
  const started = performance.now()
  const err = await work.then(() => { throw new Error('expected a rejection') }, (e: unknown) => e)
  const ms = performance.now() - started
  expect(err).toBeInstanceOf(ProviderError)
  let text = ''
  for (let e: unknown = err; e instanceof Error; e = e.cause) text += ` ${e.message}`
  for (const secret of [PHONE.slice(1), EMAIL, CODE]) expect(text).not.toContain(secret)
  return { err: err as ProviderError, ms }
}

function abortAfter (ms: number): AbortSignal {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), ms)
  onTestFinished(() => clearTimeout(timer))
  return controller.signal
}

async function until (check: () => boolean) {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10)
  expect(check()).toBe(true)
}

async function expectHangsToEndQuickly (create: (timeoutMs: number) => OtpProvider, message: OtpMessage) {
  const timedOut = await rejectionOf(closing(create(200)).send(message, noAbort()))
  expect(timedOut.err.message).toMatch(/timed out after 200 ms$/)
  expect(timedOut.ms).toBeGreaterThanOrEqual(190)
  expect(timedOut.ms).toBeLessThan(1500)
  const aborted = await rejectionOf(closing(create(10_000)).send(message, abortAfter(100)))
  expect(aborted.err.message).toMatch(/aborted$/)
  expect(aborted.ms).toBeLessThan(1000)
}

async function closedServerUrl (): Promise<string> {
  const gone = await startFakeHttpServer(() => ({ status: 200 }))
  await gone.close()
  return gone.url
}

describe('webhook provider', () => {
  const webhook = (server: FakeHttpServer, over: Partial<Parameters<typeof createWebhookProvider>[0]> = {}) =>
    closing(createWebhookProvider({ name: 'hook', channels: ['sms', 'email'], url: `${server.url}/hooks/otp?tenant=t1`, timeoutMs: 2000, ...over }))

  it('posts the default JSON body with the code in the text and returns the messageId of the answer', async () => {
    const server = await fakeHttpServerForTest(() => ({ status: 200, body: { messageId: 'wh-1' } }))
    const provider = webhook(server, { headers: { 'X-Api-Key': 'k1' } })
    expect(await provider.send(sms, noAbort())).toEqual({ messageId: 'wh-1' })
    const [req] = server.requests
    expect(req).toMatchObject({ method: 'POST', path: '/hooks/otp?tenant=t1', headers: { 'content-type': 'application/json', 'x-api-key': 'k1' } })
    expect(JSON.parse(req?.body ?? '')).toEqual({ channel: 'sms', to: PHONE, code: CODE, text: `Your verification code is ${CODE}. Never share it with anyone.`, locale: 'en' })
  })

  it('fills a custom template with JSON-escaped values, sends with PUT and reads the messageId at a dot path', async () => {
    const server = await fakeHttpServerForTest(() => ({ status: 202, body: { data: { message: { id: 42 } } } }))
    const bodyTemplate = '{"address":"{{to}}","msg":"{{text}}","meta":{"lang":"{{locale}}","via":"{{channel}}"}}'
    const provider = webhook(server, { method: 'PUT', bodyTemplate, messageIdPath: 'data.message.id' })
    const zhEmail: OtpMessage = { ...email, locale: 'zh-CN' }
    expect(await provider.send(zhEmail, noAbort())).toEqual({ messageId: '42' })
    expect(server.requests[0]?.method).toBe('PUT')
    // The email text has line breaks: the body is JSON only if they were escaped.
    expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({ address: EMAIL, msg: otpText('email', CODE, 'zh-CN'), meta: { lang: 'zh-CN', via: 'email' } })
  })

  it('falls back to a generated messageId when the answer has none or is not JSON', async () => {
    const server = await fakeHttpServerForTest(({ n }) => n === 1 ? { status: 200, body: { ok: true } } : { status: 204, body: '' })
    const provider = webhook(server)
    const first = await provider.send(sms, noAbort())
    const second = await provider.send(sms, noAbort())
    expect(first.messageId).toMatch(/^[0-9a-f-]{36}$/)
    expect(second.messageId).toMatch(/^[0-9a-f-]{36}$/)
    expect(first.messageId).not.toBe(second.messageId)
  })

  it('rejects a 500, a destroyed socket and a refused connection with a ProviderError that names the failure', async () => {
    const server = await fakeHttpServerForTest(({ n }) => n === 1 ? { status: 500, body: { error: `cannot send to ${PHONE}` } } : { destroy: true })
    const provider = webhook(server)
    expect((await rejectionOf(provider.send(sms, noAbort()))).err.message).toBe('hook: answered 500')
    expect((await rejectionOf(provider.send(sms, noAbort()))).err.message).toMatch(/^hook: request failed \(UND_ERR_SOCKET\)$/)
    const refused = createWebhookProvider({ name: 'gone', channels: ['sms'], url: await closedServerUrl(), timeoutMs: 2000 })
    closing(refused)
    expect((await rejectionOf(refused.send(sms, noAbort()))).err.message).toBe('gone: request failed (ECONNREFUSED)')
  })

  it('rejects a hung request after its timeout, and when the caller aborts', async () => {
    const server = await fakeHttpServerForTest(() => ({ hang: true }))
    await expectHangsToEndQuickly(timeoutMs => createWebhookProvider({ name: 'hook', channels: ['sms'], url: server.url, timeoutMs }), sms)
    expect(server.requests).toHaveLength(2)
  })

  it('refuses a channel it was not configured for, a template that is not JSON and a URL it cannot use', async () => {
    const server = await fakeHttpServerForTest(() => ({ status: 200 }))
    const { err } = await rejectionOf(webhook(server, { channels: ['email'] }).send(sms, noAbort()))
    expect(err.message).toBe('hook: channel sms not supported')
    expect(server.requests).toHaveLength(0)
    expect(() => createWebhookProvider({ name: 'bad', channels: ['sms'], url: server.url, bodyTemplate: '{"to":{{to}}}', timeoutMs: 100 })).toThrow(/bodyTemplate/)
    expect(() => createWebhookProvider({ name: 'ftp', channels: ['sms'], url: 'ftp://127.0.0.1/x', timeoutMs: 100 })).toThrow('ftp: unsupported protocol ftp:')
    expect(() => createWebhookProvider({ name: 'creds', channels: ['sms'], url: 'http://u:p@127.0.0.1/x', timeoutMs: 100 })).toThrow(/credentials belong in headers/)
  })

  it('releases its connections on close', async () => {
    const server = await fakeHttpServerForTest(() => ({ status: 200, body: { id: 'x' } }))
    const provider = createWebhookProvider({ name: 'hook', channels: ['sms'], url: server.url, timeoutMs: 2000 })
    await provider.send(sms, noAbort())
    expect(server.openConnections()).toBe(1)
    await provider.close()
    await until(() => server.openConnections() === 0)
  })
})

describe('twilio provider', () => {
  const twilio = (server: FakeHttpServer, over: Partial<Parameters<typeof createTwilioProvider>[0]> = {}) => closing(createTwilioProvider({
    name: 'twilio', channels: ['sms', 'voice'], baseUrl: server.url, accountSid: TWILIO_ACCOUNT.sid, authToken: TWILIO_ACCOUNT.token, from: '+15005550006', timeoutMs: 2000, ...over
  }))

  it('sends an sms through the Messages resource with basic auth and returns the sid', async () => {
    const server = await fakeHttpServerForTest(twilioApi())
    const { messageId } = await twilio(server).send(sms, noAbort())
    expect(messageId).toMatch(/^SM[0-9a-f]{32}$/)
    const [req] = server.requests
    expect(req?.path).toBe(`/2010-04-01/Accounts/${TWILIO_ACCOUNT.sid}/Messages.json`)
    const form = Object.fromEntries(new URLSearchParams(req?.body))
    expect(form).toEqual({ To: PHONE, From: '+15005550006', Body: otpText('sms', CODE, 'en') })
    expect(form.Body).toContain(CODE)
  })

  it('places a voice call with the code spelled out in TwiML, in the language of the locale', async () => {
    const server = await fakeHttpServerForTest(twilioApi())
    const { messageId } = await twilio(server).send({ ...sms, channel: 'voice', locale: 'zh-CN' }, noAbort())
    expect(messageId).toMatch(/^CA[0-9a-f]{32}$/)
    expect(server.requests[0]?.path).toBe(`/2010-04-01/Accounts/${TWILIO_ACCOUNT.sid}/Calls.json`)
    const form = Object.fromEntries(new URLSearchParams(server.requests[0]?.body))
    expect(form).toEqual({ To: PHONE, From: '+15005550006', Twiml: '<Response><Say language="zh-CN">您的验证码是：8 0 4 2 1 3。重复一遍：8 0 4 2 1 3。</Say></Response>' })
  })

  it('rejects with Twilio\'s error code but never its message, which quotes the number', async () => {
    const server = await fakeHttpServerForTest(twilioApi())
    const wrongToken = await rejectionOf(twilio(server, { authToken: 'wrong' }).send(sms, noAbort()))
    expect(wrongToken.err.message).toBe('twilio: answered 401 (twilio code 20003)')
    const badNumber = await rejectionOf(twilio(server).send({ ...sms, to: PHONE.slice(1) }, noAbort()))
    expect(badNumber.err.message).toBe('twilio: answered 400 (twilio code 21211)')
    server.script(({ n }) => n === 3 ? { status: 500, body: 'Internal Server Error' } : { destroy: true })
    expect((await rejectionOf(twilio(server).send(sms, noAbort()))).err.message).toBe('twilio: answered 500')
    expect((await rejectionOf(twilio(server).send(sms, noAbort()))).err.message).toBe('twilio: request failed (UND_ERR_SOCKET)')
  })

  it('rejects a hung request after its timeout, and when the caller aborts', async () => {
    const server = await fakeHttpServerForTest(() => ({ hang: true }))
    await expectHangsToEndQuickly(timeoutMs => createTwilioProvider({
      name: 'twilio', channels: ['sms'], baseUrl: server.url, accountSid: TWILIO_ACCOUNT.sid, authToken: TWILIO_ACCOUNT.token, from: '+15005550006', timeoutMs
    }), sms)
  })

  it('refuses email and channels it was not configured for, and releases its connections on close', async () => {
    const server = await fakeHttpServerForTest(twilioApi())
    const provider = createTwilioProvider({ name: 'twilio', channels: ['sms'], baseUrl: server.url, accountSid: TWILIO_ACCOUNT.sid, authToken: TWILIO_ACCOUNT.token, from: '+15005550006', timeoutMs: 2000 })
    expect((await rejectionOf(provider.send(email, noAbort()))).err.message).toBe('twilio: channel email not supported')
    expect((await rejectionOf(provider.send({ ...sms, channel: 'voice' }, noAbort()))).err.message).toBe('twilio: channel voice not supported')
    await provider.send(sms, noAbort())
    expect(server.openConnections()).toBe(1)
    await provider.close()
    await until(() => server.openConnections() === 0)
  })
})

describe('smtp provider', () => {
  const smtp = (port: number, over: Partial<Parameters<typeof createSmtpProvider>[0]> = {}) =>
    closing(createSmtpProvider({ name: 'smtp', host: '127.0.0.1', port, from: 'Login <no-reply@gateway.test>', timeoutMs: 2000, ...over }))

  it('delivers the code by email to the destination, logging in when configured, and returns the messageId', async () => {
    const sink = await smtpSinkForTest({ users: { mailer: 'mail-pass' } })
    const provider = smtp(sink.port, { user: 'mailer', pass: 'mail-pass' })
    expect(provider.channels).toEqual(['email'])
    const { messageId } = await provider.send(email, noAbort())
    expect(messageId).toMatch(/^<.+@gateway\.test>$/)
    expect(sink.mails).toHaveLength(1)
    const [mail] = sink.mails
    expect(mail).toMatchObject({ from: 'no-reply@gateway.test', to: [EMAIL], user: 'mailer' })
    expect(mail?.raw).toContain(`Message-ID: ${messageId}`)
    expect(mail?.raw).toMatch(new RegExp(`^Subject: ${otpSubject('en')}\\r$`, 'm'))
    expect(mail?.raw).toMatch(new RegExp(`^To: ${EMAIL}\\r$`, 'm'))
    expect(mail?.raw).toContain(`Your verification code is ${CODE}.`)
  })

  it('rejects a refused recipient and a wrong login with the SMTP reply code, never the address', async () => {
    const sink = await smtpSinkForTest({ users: { mailer: 'mail-pass' } })
    sink.script(() => ({ refuseRecipient: 550 }))
    expect((await rejectionOf(smtp(sink.port).send(email, noAbort()))).err.message).toBe('smtp: failed at RCPT TO (EENVELOPE 550)')
    expect((await rejectionOf(smtp(sink.port, { user: 'mailer', pass: 'wrong' }).send(email, noAbort()))).err.message).toBe('smtp: failed at AUTH PLAIN (EAUTH 535)')
    expect((await rejectionOf(smtp(sink.port).send({ ...email, to: `${EMAIL}, eve@example.com` }, noAbort()))).err.message)
      .toBe('smtp: destination is not a single address')
    expect((await rejectionOf(smtp(sink.port).send(sms, noAbort()))).err.message).toBe('smtp: channel sms not supported')
    expect(sink.mails).toHaveLength(0)
  })

  it('rejects when the server is unreachable', async () => {
    const port = Number(new URL(await closedServerUrl()).port)
    expect((await rejectionOf(smtp(port).send(email, noAbort()))).err.message).toBe('smtp: failed at CONN (ESOCKET ECONNREFUSED)')
  })

  it('rejects a hung delivery after its timeout, and when the caller aborts', async () => {
    const sink = await smtpSinkForTest()
    sink.script(() => ({ hang: true }))
    await expectHangsToEndQuickly(timeoutMs => createSmtpProvider({ name: 'smtp', host: '127.0.0.1', port: sink.port, from: 'no-reply@gateway.test', timeoutMs }), email)
  })

  it('releases its pooled connection on close', async () => {
    const sink = await smtpSinkForTest()
    const provider = createSmtpProvider({ name: 'smtp', host: '127.0.0.1', port: sink.port, from: 'no-reply@gateway.test', timeoutMs: 2000 })
    await provider.send(email, noAbort())
    await provider.send(email, noAbort())
    expect(sink.mails).toHaveLength(2)
    expect(sink.openConnections()).toBe(1)
    await provider.close()
    await until(() => sink.openConnections() === 0)
  })
})
