// Debian's chromium (/usr/bin/chromium, never a downloaded browser) driven by playwright-core:
// headless, with a fresh profile in a temporary folder that is removed on close.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { onTestFinished } from 'vitest'

export const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
// An ordinary desktop Chrome: headless Chromium calls itself HeadlessChrome, which bot rules flag.
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
export const SCREENSHOTS = fileURLToPath(new URL('../../../test-output/screenshots/', import.meta.url))

export interface TestBrowser {
  context: BrowserContext
  /** A new tab, closed when the test ends; script errors, CSP violations and failed loads land in `errors`. */
  open: (url: string) => Promise<{ page: Page, errors: string[] }>
  close: () => Promise<void>
}

export async function launchBrowser (options: { locale?: string } = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'lg-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    locale: options.locale ?? 'en-US',
    timezoneId: 'UTC',
    userAgent: USER_AGENT,
    viewport: { width: 1280, height: 900 }
  })
  context.setDefaultTimeout(10_000)
  return {
    context,
    async open (url) {
      const page = await context.newPage()
      // Registered after the gateway's close, so it runs first: no poll hits a closed port.
      onTestFinished(async () => { await page.close() })
      const errors: string[] = []
      page.on('pageerror', err => { errors.push(`pageerror: ${err.message}`) })
      page.on('console', message => {
        // A refused login is a 4xx/5xx the page renders; Chromium logs each as a failed resource.
        if (message.type() === 'error' && !/status of (4|5)\d\d/.test(message.text())) errors.push(`console: ${message.text()}`)
      })
      await page.goto(url)
      return { page, errors }
    },
    async close () {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

export async function screenshot (page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const path = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
