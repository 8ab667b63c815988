import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { TEST_ENV } from '../helpers/test-app.js'
import { launchBrowser, screenshot, type TestBrowser } from './helpers/browser.js'
import { ADMIN_TOKEN, type DemoGateway, rulesFile, startDemoGateway } from './helpers/demo-gateway.js'

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const ONE_RULE = 'rules:\n  # the only rule\n  - id: tag-no-accept-language\n    when:\n      anomalies: { includes: missing_accept_language }\n    action: { tag: no-accept-language }\n'

let browser: TestBrowser
beforeAll(async () => { browser = await launchBrowser() })
afterAll(async () => { await browser.close() })
// Every test's gateway shares the secret and the host 127.0.0.1: a trusted-device cookie from
// one test would be valid in the next (cookies ignore the port) and skip its address limits.
beforeEach(async () => { await browser.context.clearCookies() })

async function openConsole (gateway: DemoGateway, view = 'overview') {
  const opened = await browser.open(`${gateway.adminUrl}/console#${view}`)
  await opened.page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN_TOKEN)
  await opened.page.getByRole('button', { name: 'Open the console' }).click()
  await opened.page.locator(`#view-${view}`).waitFor()
  return opened
}

/** Signs in on the demo page and waits for the gateway's answer. */
async function signIn (page: Page, username: string, password: string) {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await Promise.all([
    page.waitForResponse(response => response.url().endsWith('/auth/login')),
    page.getByRole('button', { name: 'Sign in' }).click()
  ])
}

const dd = (page: Page, name: string) => page.locator('#status-facts dt', { hasText: name }).locator('xpath=following-sibling::dd[1]')

describe('the console', () => {
  it('asks for the admin token once and shows the overview, with live per-minute counts', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await browser.open(`${gateway.adminUrl}/console`)
    await page.getByRole('textbox', { name: 'Admin token' }).fill('not-the-token-at-all-0123456789')
    await page.getByRole('button', { name: 'Open the console' }).click()
    await page.locator('#token-status [data-code="admin_token_invalid"]').waitFor()
    await page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN_TOKEN)
    await page.getByRole('button', { name: 'Open the console' }).click()
    await expect.poll(() => dd(page, 'Mode').textContent()).toBe('demo')
    expect(await dd(page, 'Redis').textContent()).toBe('not_configured')
    expect(await dd(page, 'Auth backend breaker').textContent()).toBe('closed')
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
    await expect.poll(() => dd(page, 'Mode').textContent()).toBe('demo')
    expect(await page.locator('#token-gate').isHidden()).toBe(true)
    expect(errors).toEqual([])
  })

  it('runs a maintenance window that the login page shows with its end time', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await openConsole(gateway)
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

    const demo = await browser.open(gateway.url)
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

  it('refuses an invalid rule set, showing each error under its rule, and the old rules stay in force', async () => {
    const gateway = await startDemoGateway({ RULES_FILE: rulesFile(ONE_RULE) })
    const before = await gateway.admin('/admin/rules') as { version: string }
    const { page, errors } = await openConsole(gateway, 'rules')
    await page.locator('#rules-version', { hasText: `Version ${before.version} ` }).waitFor()
    await page.getByLabel(/^Rule set/).fill(readFileSync(fixture('rules/invalid-candidate.yaml'), 'utf8'))
    await page.getByRole('button', { name: 'Validate and replace the rules' }).click()

    await page.getByText(`Refused: nothing changed, version ${before.version} keeps serving.`, { exact: false }).waitFor()
    const first = page.locator('#rules-errors section[data-rule-id="scripted-clients"]')
    expect(await first.locator('h4').textContent()).toBe('Rule #1 scripted-clients (line 3)')
    expect(await first.locator('li').allTextContents()).toEqual([expect.stringMatching(/^when\.userAgent: regular expression "\(a\+\)\+\$" is refused as unsafe/)])
    const second = page.locator('#rules-errors section[data-rule-id="office"]')
    expect(await second.locator('h4').textContent()).toBe('Rule #2 office (line 7)')
    expect(await second.locator('li code').allTextContents()).toEqual(['colour', 'when.ip'])
    await screenshot(page, 'console-rules-refused')
    await second.getByRole('button', { name: 'Select it in the editor' }).click()
    const selected = await page.getByLabel(/^Rule set/).evaluate(node => {
      const area = node as unknown as { value: string, selectionStart: number, selectionEnd: number } // a textarea; no DOM lib on this side
      return area.value.slice(area.selectionStart, area.selectionEnd)
    })
    expect(selected).toBe('  - id: office')

    expect(await gateway.admin('/admin/rules')).toMatchObject({ version: before.version, rules: [{ id: 'tag-no-accept-language' }] })
    expect(await page.locator('#rules-table tbody tr').count()).toBe(1)
    expect(errors).toEqual([])
  })

  it('counts a shadow rule\'s hits after matching traffic, then enforces it with the mode switch', async () => {
    const gateway = await startDemoGateway({ RULES_FILE: rulesFile(ONE_RULE) })
    const { page, errors } = await openConsole(gateway, 'rules')
    await page.locator('#rules-table tbody tr').first().waitFor()
    const candidate = `${ONE_RULE}  - id: watch-desktop-chrome\n    description: every desktop Chrome, to watch\n    when:\n      ua: { matches: 'Chrome/' }\n    action: block\n    mode: shadow\n`
    await page.getByLabel(/^Rule set/).fill(candidate)
    await page.getByRole('button', { name: 'Validate and replace the rules' }).click()
    await page.getByText(/^Rules replaced: version /).waitFor()
    const shadowHits = page.locator('[data-shadow-hits="watch-desktop-chrome"]')
    expect(await shadowHits.textContent()).toBe('0')

    const demo = await browser.open(gateway.url)
    await signIn(demo.page, 'alice', 'alice-demo-pass')
    await demo.page.getByText(/^Signed in as u-alice\./).waitFor()
    await page.getByRole('link', { name: 'Decisions' }).click()
    await page.locator('#view-decisions').getByLabel('Rule', { exact: true }).fill('watch-desktop-chrome')
    await page.getByRole('button', { name: 'Show' }).click()
    await page.locator('#decisions-table caption', { hasText: '1 decisions' }).waitFor()
    expect(await page.locator('#decisions-table tbody td').allTextContents()).toEqual(expect.arrayContaining(['a***e', '127.0.0.1', 'none', 'watch-desktop-chrome', 'authenticated']))
    await page.getByRole('link', { name: 'Rules' }).click()
    await expect.poll(() => shadowHits.textContent()).toBe('1')

    await page.getByLabel('Mode of watch-desktop-chrome').selectOption('enforce')
    await page.getByText(/^Rule watch-desktop-chrome is now in enforce mode/).waitFor()
    await demo.page.getByRole('button', { name: 'Sign out' }).click()
    await signIn(demo.page, 'alice', 'alice-demo-pass')
    await demo.page.locator('#login-status [data-code="request_blocked"]').waitFor()
    await expect.poll(() => page.reload().then(() => page.locator('[data-hits="watch-desktop-chrome"]').textContent())).toBe('1')
    expect([...errors, ...demo.errors]).toEqual([])
  })

  it('says so when a rule switched out of shadow stays there because every rule does', async () => {
    const gateway = await startDemoGateway({ RULES_FILE: rulesFile(ONE_RULE), RULES_SHADOW_ONLY: 'true' })
    const { page, errors } = await openConsole(gateway, 'rules')
    await page.getByLabel('Mode of tag-no-accept-language').selectOption('canary')
    await page.getByText(/^Rule tag-no-accept-language is set to canary .*it is still only recorded\.$/).waitFor()
    expect(await page.getByLabel('Mode of tag-no-accept-language').inputValue()).toBe('shadow')
    expect(errors).toEqual([])
  })

  it('explains a blocked address, and the unblock lets its next login through', async () => {
    const limits = { ...JSON.parse(TEST_ENV.LIMITS ?? '{}'), ip_attempts: { points: 2, windowS: 600 } }
    const gateway = await startDemoGateway({ LIMITS: JSON.stringify(limits) })
    const demo = await browser.open(gateway.url)
    for (let i = 0; i < 3; i++) await signIn(demo.page, 'alice', 'wrong-password')
    const refused = demo.page.locator('#login-status [data-code="too_many_attempts"]')
    await refused.waitFor()
    expect(await refused.locator('.countdown').textContent()).toMatch(/^You can try again in \d+ s\.$/)

    const { page, errors } = await openConsole(gateway, 'explain')
    const view = page.locator('#view-explain')
    await view.getByLabel('IP').fill('127.0.0.1')
    await page.getByRole('button', { name: 'Look up' }).click()
    const row = page.locator('#explain-result tbody tr', { hasText: 'ip_attempts' })
    await row.waitFor()
    expect(await row.locator('td').allTextContents()).toEqual(['ip_attempts', '3 / 2', expect.stringMatching(/^holds until /)])
    await screenshot(page, 'console-explain')
    await view.getByLabel('Reason (for the audit log)').fill('customer on the phone, ticket 4711')
    await view.getByLabel('Minutes').fill('15')
    await page.getByRole('button', { name: 'Grant the unblock' }).click()
    await page.getByText(/^Unblocked IP 127\.0\.0\.1 until .*; written to the audit log\.$/).waitFor()
    await page.getByText(/^Unblocks in force: ip 127\.0\.0\.1 → .*\(customer on the phone, ticket 4711\)$/).waitFor()

    await signIn(demo.page, 'alice', 'alice-demo-pass')
    await demo.page.getByText(/^Signed in as u-alice\./).waitFor()
    expect([...errors, ...demo.errors]).toEqual([])
  })

  it('replays an uploaded decision log under candidate rules as a per-rule table', async () => {
    const gateway = await startDemoGateway()
    const { page, errors } = await openConsole(gateway, 'replay')
    await page.getByLabel('Decision log (NDJSON, as DECISION_LOG writes it)').setInputFiles(fixture('decisions.ndjson'))
    await page.getByText(/^\d+ decisions loaded from decisions\.ndjson\.$/).waitFor()
    await page.getByLabel('Candidate rules file (YAML or JSON)').setInputFiles(fixture('rules/candidate.yaml'))
    await expect.poll(() => page.getByLabel(/^Candidate rules \(loaded/).inputValue()).toContain('id: block-bots')
    await page.getByRole('button', { name: 'Replay', exact: true }).last().click()
    const cells = async (rule: string) => await page.locator('#replay-result tbody tr', { hasText: rule }).locator('td').allTextContents()
    await page.locator('#replay-result tbody tr').first().waitFor()
    // columns: rule, mode, action, matches, would block, challenge, step up, shadow matches, likely FP, FP if enforced
    expect(await cells('block-bots')).toEqual(['block-bots', 'enforce', 'block', '4', '4', '0', '0', '0', '1', '0'])
    expect(await cells('stuffing')).toEqual(['stuffing', 'enforce', 'challenge', '2', '0', '2', '0', '0', '1', '0'])
    expect(errors).toEqual([])
  })

  it('lives on the admin port when ADMIN_PORT is set, and never on the public one', async () => {
    const gateway = await startDemoGateway({ ADMIN_PORT: '0' })
    expect(gateway.adminUrl).not.toBe(gateway.url)
    expect((await fetch(`${gateway.url}/console`)).status).toBe(404)
    expect((await fetch(`${gateway.url}/console/assets/console/app.js`)).status).toBe(404)
    const page = await fetch(`${gateway.adminUrl}/console`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const { page: tab, errors } = await openConsole(gateway)
    await expect.poll(() => dd(tab, 'Mode').textContent()).toBe('demo')
    expect(errors).toEqual([])
  })
})
