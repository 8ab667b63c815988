import { describe, expect, it } from 'vitest'
import { spawnGateway, waitForOutput } from '../helpers/gateway-process.js'
import { freePort } from '../helpers/redis-server.js'
import { screenshot } from './helpers/browser.js'
import { fact, openConsole, signIn, useBrowser } from './helpers/console-page.js'
import { ADMIN_TOKEN, startDemoGateway } from './helpers/demo-gateway.js'

const browser = useBrowser()

describe('the console for SREs', () => {
  it('asks for the admin token once and shows the overview, with live per-minute counts', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await browser().open(`${gateway.adminUrl}/console`)
    await page.getByRole('textbox', { name: 'Admin token' }).fill('not-the-token-at-all-0123456789')
    await page.getByRole('button', { name: 'Open the console' }).click()
    await page.locator('#token-status [data-code="admin_token_invalid"]').waitFor()
    await page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN_TOKEN)
    await page.getByRole('button', { name: 'Open the console' }).click()
    await expect.poll(() => fact(page, 'Mode').textContent()).toBe('demo')
    expect(await fact(page, 'Redis').textContent()).toBe('not_configured')
    expect(await fact(page, 'Auth backend breaker').textContent()).toBe('closed')
    expect(await page.locator('#provider-table tbody tr td:first-child').allTextContents()).toEqual(['demo-sms', 'demo-sms-backup', 'demo-voice', 'demo-email'])
    expect(await page.locator('#maintenance-now').textContent()).toBe('No maintenance window.')
    for (const other of ['rules', 'decisions', 'explain', 'replay']) expect(await page.locator(`#view-${other}`).isHidden()).toBe(true)

    // Traffic after the page opened: the chart must catch up by itself (sampled every 5 s).
    const login = (password: string) => fetch(`${gateway.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password }) })
    expect((await login('alice-demo-pass')).status).toBe(200)
    expect((await login('wrong')).status).toBe(401)
    await page.locator('#logins-chart li[data-series="authenticated"]', { hasText: 'authenticated: 1' }).waitFor({ timeout: 15_000 })
    await page.locator('#problems-chart li[data-series="invalid_credentials"]', { hasText: 'invalid_credentials: 1' }).waitFor({ timeout: 15_000 })
    await screenshot(page, 'console-overview')

    await page.reload() // the token is kept for this tab: no second prompt
    await expect.poll(() => fact(page, 'Mode').textContent()).toBe('demo')
    expect(await page.locator('#token-gate').isHidden()).toBe(true)
    expect(errors).toEqual([])
  })

  it('runs a maintenance window that the login page shows with its end time', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await openConsole(browser(), gateway)
    const inMinutes = (m: number) => new Date(Math.ceil(Date.now() / 60_000) * 60_000 + m * 60_000)
    const local = (d: Date) => d.toISOString().slice(0, 16) // the browser runs in UTC

    await page.getByLabel('From (empty: now)').fill(local(inMinutes(60)))
    await page.getByLabel('Until').fill(local(inMinutes(90)))
    await page.getByRole('button', { name: 'Set the maintenance window' }).click()
    await page.locator('#maintenance-now', { hasText: /^Maintenance scheduled from / }).waitFor()

    const until = inMinutes(30)
    await page.getByLabel('From (empty: now)').fill('')
    await page.getByLabel('Until').fill(local(until))
    await page.getByLabel('Message (English)').fill('Upgrading the database.')
    await page.getByLabel('Message (Chinese)').fill('数据库升级中。')
    await page.getByRole('button', { name: 'Set the maintenance window' }).click()
    await page.locator('#maintenance-now', { hasText: /^Under maintenance until .*Upgrading the database\.$/ }).waitFor()

    const demo = await browser().open(gateway.url)
    await signIn(demo.page, 'alice', 'alice-demo-pass')
    const problem = demo.page.locator('#login-status [data-code="maintenance"]')
    await problem.waitFor()
    expect(await problem.locator('.problem-title').textContent()).toBe('Sign-in is under maintenance')
    expect(await problem.locator('.problem-detail').textContent()).toContain('Upgrading the database.')
    const shown = problem.locator('.until time')
    expect(await shown.getAttribute('datetime')).toBe(until.toISOString())
    expect(await problem.locator('.until').textContent()).toBe(`Maintenance ends at ${new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(until)}.`)
    expect(await problem.locator('.countdown').textContent()).toMatch(/^You can try again in \d+ s\.$/)

    await page.getByRole('button', { name: 'End maintenance now' }).click()
    await page.getByText('Maintenance ended.').waitFor()
    await signIn(demo.page, 'alice', 'alice-demo-pass')
    await demo.page.getByText(/^Signed in as u-alice\./).waitFor()
    expect([...errors, ...demo.errors]).toEqual([])
  })

  it('opens with the admin token that zero-config demo mode prints with the console address', async () => {
    const port = await freePort()
    const gateway = spawnGateway({ PORT: String(port) })
    await waitForOutput(gateway, /Server listening/)
    const line = /console at (http:\/\/\S+\/console) with the admin token (\S+) \(made up for this process/.exec(gateway.output())
    expect(line?.[1]).toBe(`http://127.0.0.1:${port}/console`)
    const { page, errors } = await browser().open(line?.[1] ?? '')
    await page.getByRole('textbox', { name: 'Admin token' }).fill(line?.[2] ?? '')
    await page.getByRole('button', { name: 'Open the console' }).click()
    await expect.poll(() => fact(page, 'Mode').textContent()).toBe('demo')
    expect(errors).toEqual([])
    await page.close() // before the process goes: its polls would log refused connections
    gateway.child.kill('SIGTERM')
    expect(await gateway.exited).toBe(0)
  })

  it('lives on the admin port when ADMIN_PORT is set, and never on the public one', async () => {
    const gateway = await startDemoGateway({ ADMIN_PORT: '0' })
    expect(gateway.adminUrl).not.toBe(gateway.url)
    expect((await fetch(`${gateway.url}/console`)).status).toBe(404)
    expect((await fetch(`${gateway.url}/console/assets/console/app.js`)).status).toBe(404)
    const page = await fetch(`${gateway.adminUrl}/console`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const { page: tab, errors } = await openConsole(browser(), gateway)
    await expect.poll(() => fact(tab, 'Mode').textContent()).toBe('demo')
    expect(errors).toEqual([])
  })
})
