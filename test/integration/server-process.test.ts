import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { spawnGateway, waitForOutput } from '../helpers/gateway-process.js'
import { freePort } from '../helpers/redis-server.js'
import { TEST_ENV } from '../helpers/test-app.js'

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe('the gateway process', () => {
  it('exits non-zero on bad configuration, naming the key, the value and what is allowed', async () => {
    const gateway = spawnGateway({ PORT: '70000', TRUST_PROXY: 'yes please' })
    expect(await gateway.exited).toBe(1)
    expect(gateway.output()).toMatch(/PORT="70000" is invalid: allowed an integer from 0 to 65535/)
    expect(gateway.output()).toMatch(/TRUST_PROXY="yes please" is invalid/)
  })

  it('exits non-zero when the config file is unreadable or holds an unknown key', async () => {
    const missing = spawnGateway({ CONFIG_FILE: '/nonexistent/gateway.yaml' })
    expect(await missing.exited).toBe(1)
    expect(missing.output()).toMatch(/CONFIG_FILE=\/nonexistent\/gateway.yaml cannot be read/)

    const dir = mkdtempSync(join(tmpdir(), 'lg-config-'))
    onTestFinished(() => rmSync(dir, { recursive: true }))
    writeFileSync(join(dir, 'gateway.yaml'), 'PORT: 8081\nSESION_MAX_PER_USER: 3\n')
    const typo = spawnGateway({ CONFIG_FILE: join(dir, 'gateway.yaml') })
    expect(await typo.exited).toBe(1)
    expect(typo.output()).toMatch(/unknown key SESION_MAX_PER_USER in the config file/)
  })

  it('starts in demo mode with zero configuration, says so first, and logs alice and bob in', async () => {
    const port = await freePort()
    const gateway = spawnGateway({ PORT: String(port) })
    await waitForOutput(gateway, /Server listening/)
    const firstLines = gateway.output().split('\n').filter(l => l.startsWith('{')).slice(0, 3).join('\n')
    expect(firstLines).toMatch(/DEMO MODE/)

    const base = `http://127.0.0.1:${port}`
    const alice = await post(`${base}/auth/login`, { username: 'alice', password: 'alice-demo-pass' })
    expect(alice.status).toBe(200)
    const { token } = await alice.json() as { token: string }
    const session = await fetch(`${base}/auth/session`, { headers: { authorization: `Bearer ${token}` } })
    expect(await session.json()).toMatchObject({ status: 'active', userId: 'u-alice' })

    const bob = await post(`${base}/auth/login`, { username: 'bob', password: 'bob-demo-pass' })
    const challenge = await bob.json() as { challengeId: string }
    expect(challenge).toMatchObject({ status: 'otp_required', channels: ['sms', 'voice', 'email'], destination: '138****5678' })
    // Bob's second factor, by hand: send, read the demo outbox, verify.
    expect((await post(`${base}/auth/otp/send`, { challengeId: challenge.challengeId })).status).toBe(200)
    const outbox = await (await fetch(`${base}/demo/outbox`)).json() as { messages: Array<{ text: string, channel: string }> }
    expect(outbox.messages[0]?.channel).toBe('sms')
    const code = /\d{6}/.exec(outbox.messages[0]?.text ?? '')?.[0] ?? ''
    const verified = await post(`${base}/auth/otp/verify`, { challengeId: challenge.challengeId, code })
    expect(await verified.json()).toMatchObject({ status: 'authenticated', userId: 'u-bob' })
    const wrong = await post(`${base}/auth/login`, { username: 'alice', password: 'nope' })
    expect(wrong.status).toBe(401)

    gateway.child.kill('SIGTERM')
    expect(await gateway.exited).toBe(0)
    expect(gateway.output()).not.toMatch(/alice-demo-pass"|bob-demo-pass"/)
    expect(gateway.output()).not.toContain(code)
  })

  it('runs in production mode and finishes in-flight logins on SIGTERM before exiting', async () => {
    const backend = await fakeBackendForTest(({ username, password }) =>
      username === 'alice' && password === 'right-pass'
        ? { status: 200, body: { userId: 'u-alice' }, delayMs: 700 }
        : { status: 401 })
    const port = await freePort()
    const gateway = spawnGateway({ PORT: String(port), AUTH_BACKEND_URL: backend.url, REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: 'proc:', GATEWAY_SECRET: 'process-test-secret-0123456789abcdef', RULES_FILE: TEST_ENV.RULES_FILE ?? '' })
    await waitForOutput(gateway, /Server listening/)
    expect(gateway.output()).not.toMatch(/DEMO MODE/)

    const inFlight = post(`http://127.0.0.1:${port}/auth/login`, { username: 'alice', password: 'right-pass' })
    await waitForOutput(gateway, /incoming request/)
    gateway.child.kill('SIGTERM')
    const res = await inFlight
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'authenticated' })
    expect(await gateway.exited).toBe(0)
    expect(gateway.output()).toMatch(/shutting down/)
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
  })
})
