import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, type TestBrowser } from './helpers/browser.js'
import { startDemoGateway } from './helpers/demo-gateway.js'

let browser: TestBrowser
beforeAll(async () => { browser = await launchBrowser() })
afterAll(async () => { await browser.close() })
// Every test's gateway shares the secret and the host 127.0.0.1: a trusted-device cookie from
// one test would be valid in the next (cookies ignore the port) and skip its address limits.
beforeEach(async () => { await browser.context.clearCookies() })

async function signIn (url: string, username: string, password: string) {
  const opened = await browser.open(url)
  await opened.page.getByLabel('Username').fill(username)
  await opened.page.getByLabel('Password').fill(password)
  await opened.page.getByRole('button', { name: 'Sign in' }).click()
  return opened
}

/** The six digits in a message's text; a voice call spells them out with separators. */
function codeIn (text: string | null): string {
  return /\d(?:[ ,.-]*\d){5}/.exec(text ?? '')?.[0].replace(/\D/g, '') ?? ''
}

describe('the demo login page', () => {
  it('signs alice in with her password, from the keyboard alone', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await browser.open(gateway.url)
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Demo sign-in')
    await screenshot(page, 'login-page')
    // By keyboard only: the skip link, then the fields, then Enter submits.
    await page.keyboard.press('Tab')
    expect(await page.locator(':focus').textContent()).toBe('Skip to the sign-in form')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Tab')
    expect(await page.locator(':focus').getAttribute('id')).toBe('username')
    await page.keyboard.type('alice')
    await page.keyboard.press('Tab')
    await page.keyboard.type('alice-demo-pass')
    await page.keyboard.press('Enter')
    await page.getByText(/^Signed in as u-alice\. The session lasts until \d\d:\d\d/).waitFor()
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true)
    expect((await page.context().cookies(gateway.url)).map(c => c.name)).toContain('sid')
    expect(errors).toEqual([])
  })

  it('lets bob finish his second factor with the code from the demo outbox', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await signIn(gateway.url, 'bob', 'bob-demo-pass')
    await page.getByText('This account needs a one-time code. Choose how to get it (to 138****5678):').waitFor()
    expect(await page.locator('#login-form').isHidden()).toBe(true)
    expect(await page.getByRole('button', { name: 'Sign out' }).isHidden()).toBe(true)
    const offered = await page.locator('#otp-channels button').allTextContents()
    expect(offered).toEqual(['Send by SMS', 'Send by voice call', 'Send by email'])
    await page.getByRole('button', { name: 'Send by SMS' }).click()
    await page.getByText('Code sent by SMS to 138****5678. You can resend in 60 s.').waitFor()
    const message = page.locator('#outbox li[data-channel="sms"]').first()
    const code = codeIn(await message.locator('.text').textContent())
    expect(code).toMatch(/^\d{6}$/)
    await page.getByLabel('Code', { exact: true }).fill(code)
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByText(/^Signed in as u-bob\./).waitFor()
    expect(errors).toEqual([])
  })

  it('still gets bob his code by SMS when the primary SMS provider is switched off', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await browser.open(gateway.url)
    await page.getByRole('checkbox', { name: 'demo-sms (sms) down' }).check()
    await page.getByText('Now: backend up; providers down: demo-sms; maintenance off.').waitFor()
    expect([...gateway.faults.providersDown]).toEqual(['demo-sms'])
    await page.getByLabel('Username').fill('bob')
    await page.getByLabel('Password').fill('bob-demo-pass')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: 'Send by SMS' }).click()
    await page.getByText('Code sent by SMS to 138****5678.', { exact: false }).waitFor()
    const message = page.locator('#outbox li[data-channel="sms"]').first()
    expect(await message.getAttribute('data-provider')).toBe('demo-sms-backup')
    await page.getByLabel('Code', { exact: true }).fill(codeIn(await message.locator('.text').textContent()))
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByText(/^Signed in as u-bob\./).waitFor()
    expect(errors).toEqual([])
  })

  it('offers voice and email when every SMS provider is off, and the voice path signs bob in', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await browser.open(gateway.url)
    await page.getByRole('checkbox', { name: 'demo-sms (sms) down' }).check()
    await page.getByText('Now: backend up; providers down: demo-sms; maintenance off.').waitFor()
    await page.getByRole('checkbox', { name: 'demo-sms-backup (sms) down' }).check()
    await page.getByText('Now: backend up; providers down: demo-sms, demo-sms-backup; maintenance off.').waitFor()
    await page.getByLabel('Username').fill('bob')
    await page.getByLabel('Password').fill('bob-demo-pass')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: 'Send by SMS' }).click()
    const problem = page.locator('#login-status [data-code="otp_delivery_failed"]')
    await problem.waitFor()
    expect(await problem.locator('.problem-title').textContent()).toBe('Verification code could not be sent')
    expect(await problem.locator('button').allTextContents()).toEqual(['Send by voice call instead', 'Send by email instead'])
    await screenshot(page, 'login-page-sms-down')
    await page.getByRole('button', { name: 'Send by voice call instead' }).click()
    await page.getByText('Code sent by voice call to 138****5678.', { exact: false }).waitFor()
    const call = page.locator('#outbox li[data-channel="voice"]').first()
    expect(await call.getAttribute('data-provider')).toBe('demo-voice')
    await page.getByLabel('Code', { exact: true }).fill(codeIn(await call.locator('.text').textContent()))
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByText(/^Signed in as u-bob\./).waitFor()
    expect(errors).toEqual([])
  })

  it('shows a countdown while the backend is down, and signs in once it is back', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await browser.open(gateway.url)
    await page.getByRole('radio', { name: 'down' }).check()
    await page.getByText('Now: backend down; providers down: none; maintenance off.').waitFor()
    await page.getByLabel('Username').fill('alice')
    await page.getByLabel('Password').fill('alice-demo-pass')
    await page.getByRole('button', { name: 'Sign in' }).click()
    const problem = page.locator('#login-status [data-code="auth_unavailable"]')
    await problem.waitFor()
    expect(await problem.locator('.problem-title').textContent()).toBe('Sign-in is temporarily unavailable')
    expect(await problem.locator('.countdown').textContent()).toMatch(/^You can try again in \d+ s\.$/)
    await page.getByRole('radio', { name: 'up' }).check()
    await page.getByText('Now: backend up; providers down: none; maintenance off.').waitFor()
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText(/^Signed in as u-alice\./).waitFor()
    expect(errors).toEqual([])
  })

  it('solves a proof-of-work challenge in the browser when a rule asks for one', async () => {
    const rules = 'rules:\n  - id: challenge-loopback\n    when:\n      ip: { cidr: [127.0.0.0/8] }\n    action: challenge\n'
    const { rulesFile } = await import('./helpers/demo-gateway.js')
    const gateway = await startDemoGateway({ RULES_FILE: rulesFile(rules), CHALLENGE_POW_DIFFICULTY: '10' })
    const { page, errors } = await signIn(gateway.url, 'alice', 'alice-demo-pass')
    await page.getByText(/^Signed in as u-alice\./).waitFor()
    const { decisions } = await gateway.admin('/admin/decisions') as { decisions: Array<{ outcome: string, challengeSolved: boolean }> }
    expect(decisions.map(d => [d.outcome, d.challengeSolved])).toEqual([['authenticated', true], ['challenge_required', false]])
    expect(errors).toEqual([])
  })

  it('speaks Chinese to a browser that reads Chinese', async () => {
    const zh = await launchBrowser({ locale: 'zh-CN' })
    try {
      const gateway = await startDemoGateway()
      const { page, errors } = await zh.open(gateway.url)
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('演示登录')
      await page.getByLabel('用户名').fill('alice')
      await page.getByLabel('密码').fill('wrong-password')
      await page.getByRole('button', { name: '登录', exact: true }).click()
      const problem = page.locator('#login-status [data-code="invalid_credentials"]')
      await problem.waitFor()
      expect(await problem.locator('.problem-title').textContent()).toBe('用户名或密码错误')
      expect(await problem.locator('.problem-detail').textContent()).toBe('用户名或密码不正确。')
      await screenshot(page, 'login-page-zh')
      expect(errors).toEqual([])
    } finally {
      await zh.close()
    }
  })

  it('exists in demo mode only', async () => {
    const { buildTestApp } = await import('../helpers/test-app.js')
    const { fakeBackendForTest } = await import('../helpers/fake-auth-backend.js')
    const backend = await fakeBackendForTest()
    const production = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url } })
    for (const url of ['/', '/demo/assets/demo/app.js', '/console']) {
      expect((await production.inject({ url })).statusCode).toBe(404)
    }
  })
})
