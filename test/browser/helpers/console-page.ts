// What the console tests share: one chromium per file, the console opened with the token, and
// sign-ins on the demo page that wait for the gateway's answer.
import { type Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { launchBrowser, type TestBrowser } from './browser.js'
import { ADMIN_TOKEN, type DemoGateway } from './demo-gateway.js'

export const ONE_RULE = 'rules:\n  # the only rule\n  - id: tag-no-accept-language\n    when:\n      anomalies: { includes: missing_accept_language }\n    action: { tag: no-accept-language }\n'

/** Launches the file's browser before its tests and closes it after them. */
export function useBrowser (): () => TestBrowser {
  let browser: TestBrowser | undefined
  beforeAll(async () => { browser = await launchBrowser() })
  afterAll(async () => { await browser?.close() })
  // Every test's gateway shares the secret and the host 127.0.0.1: a trusted-device cookie from
  // one test would be valid in the next (cookies ignore the port) and skip its address limits.
  beforeEach(async () => { await browser?.context.clearCookies() })
  return () => {
    if (browser === undefined) throw new Error('the browser is not launched yet')
    return browser
  }
}

export async function openConsole (browser: TestBrowser, gateway: DemoGateway, view = 'overview') {
  const opened = await browser.open(`${gateway.adminUrl}/console#${view}`)
  await opened.page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN_TOKEN)
  await opened.page.getByRole('button', { name: 'Open the console' }).click()
  await opened.page.locator(`#view-${view}`).waitFor()
  return opened
}

/** Signs in on the demo page and waits for the gateway's answer. */
export async function signIn (page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await Promise.all([
    page.waitForResponse(response => response.url().endsWith('/auth/login')),
    page.getByRole('button', { name: 'Sign in' }).click()
  ])
}

/** The value next to a name in the overview's facts. */
export const fact = (page: Page, name: string) => page.locator('#status-facts dt', { hasText: name }).locator('xpath=following-sibling::dd[1]')
