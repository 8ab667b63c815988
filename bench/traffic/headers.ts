// Request headers per kind of client. Honest users look like the lender's web app in a
// browser; declared bots say what they are, as scrapers and scripted clients usually do.
import { type Random, pick } from './addresses.js'

export const BROWSER_AGENTS = [
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
] as const

export const BOT_AGENTS = [
  'python-requests/2.31.0',
  'Go-http-client/1.1',
  'curl/8.5.0',
  'Scrapy/2.11.1 (+https://scrapy.org)',
  'okhttp/4.12.0'
] as const

export const LANGUAGES = ['zh-CN,zh;q=0.9,en;q=0.8', 'zh-CN,zh;q=0.9', 'en-US,en;q=0.9'] as const

const ORIGIN = 'https://app.lender.example'

export interface BrowserIdentity {
  userAgent: string
  language: string
}

export function browserIdentity (random: Random): BrowserIdentity {
  return { userAgent: pick(BROWSER_AGENTS, random), language: pick(LANGUAGES, random) }
}

/**
 * What the lender's login page sends with fetch(); the cookie jar holds only `did` here. No
 * Accept-Encoding: the bench reads answers as text and a compressed one would be unreadable.
 */
export function browserHeaders (who: BrowserIdentity, address: string, contentType: string, cookie?: string): Record<string, string> {
  const headers: Record<string, string> = {
    'user-agent': who.userAgent,
    accept: 'application/json, text/plain, */*',
    'accept-language': who.language,
    origin: ORIGIN,
    referer: `${ORIGIN}/login`,
    'sec-fetch-site': 'same-site',
    'sec-fetch-mode': 'cors',
    'sec-fetch-dest': 'empty',
    'x-forwarded-for': address,
    'content-type': contentType
  }
  if (cookie !== undefined) headers.cookie = cookie
  return headers
}

/** A scripted client: a bot User-Agent and nothing a browser would add. */
export function botHeaders (userAgent: string, address: string, contentType: string): Record<string, string> {
  return { 'user-agent': userAgent, accept: '*/*', 'x-forwarded-for': address, 'content-type': contentType }
}

export const JSON_TYPE = 'application/json'
export const FORM_TYPE = 'application/x-www-form-urlencoded'

/** A login body as JSON or as an HTML form would post it. */
export function loginBody (username: string, password: string, form: boolean): string {
  return form
    ? new URLSearchParams({ username, password }).toString()
    : JSON.stringify({ username, password })
}
