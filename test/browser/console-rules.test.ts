import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { TEST_ENV } from '../helpers/test-app.js'
import { screenshot } from './helpers/browser.js'
import { ONE_RULE, openConsole, signIn, useBrowser } from './helpers/console-page.js'
import { rulesFile, startDemoGateway } from './helpers/demo-gateway.js'

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const browser = useBrowser()

describe('the console for security teams', () => {
  it('refuses an invalid rule set, showing each error under its rule, and the old rules stay in force', async () => {
    const gateway = await startDemoGateway({ RULES_FILE: rulesFile(ONE_RULE) })
    const before = await gateway.admin('/admin/rules') as { version: string }
    const { page, errors } = await openConsole(browser(), gateway, 'rules')
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
    const { page, errors } = await openConsole(browser(), gateway, 'rules')
    await page.locator('#rules-table tbody tr').first().waitFor()
    const candidate = `${ONE_RULE}  - id: watch-desktop-chrome\n    description: every desktop Chrome, to watch\n    when:\n      ua: { matches: 'Chrome/' }\n    action: block\n    mode: shadow\n`
    await page.getByLabel(/^Rule set/).fill(candidate)
    await page.getByRole('button', { name: 'Validate and replace the rules' }).click()
    await page.getByText(/^Rules replaced: version /).waitFor()
    const shadowHits = page.locator('[data-shadow-hits="watch-desktop-chrome"]')
    expect(await shadowHits.textContent()).toBe('0')

    const demo = await browser().open(gateway.url)
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
    const { page, errors } = await openConsole(browser(), gateway, 'rules')
    await page.getByLabel('Mode of tag-no-accept-language').selectOption('canary')
    await page.getByText(/^Rule tag-no-accept-language is set to canary .*it is still only recorded\.$/).waitFor()
    expect(await page.getByLabel('Mode of tag-no-accept-language').inputValue()).toBe('shadow')
    expect(errors).toEqual([])
  })

  it('explains a blocked address, and the unblock lets its next login through', async () => {
    const limits = { ...JSON.parse(TEST_ENV.LIMITS ?? '{}'), ip_attempts: { points: 2, windowS: 600 } }
    const gateway = await startDemoGateway({ LIMITS: JSON.stringify(limits) })
    const demo = await browser().open(gateway.url)
    for (let i = 0; i < 3; i++) await signIn(demo.page, 'alice', 'wrong-password')
    const refused = demo.page.locator('#login-status [data-code="too_many_attempts"]')
    await refused.waitFor()
    expect(await refused.locator('.countdown').textContent()).toMatch(/^You can try again in \d+ s\.$/)

    const { page, errors } = await openConsole(browser(), gateway, 'explain')
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
    const { page, errors } = await openConsole(browser(), gateway, 'replay')
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
})
