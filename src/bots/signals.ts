// Per-request bot signals from what the client sent: its user agent (isbot, missing,
// malformed), header anomalies typical of scripts, the honeypot field. Pure.
import { type IncomingHttpHeaders } from 'node:http'
import { isbot } from 'isbot'

/** The login form's hidden field: people never see it, form-filling bots fill it in. */
export const HONEYPOT_FIELD = 'website'

/** Headers the rules may test (and the decision log keeps); everything else is dropped. */
export const KEPT_HEADERS: readonly string[] = [
  'user-agent', 'accept', 'accept-language', 'accept-encoding', 'content-type', 'origin', 'referer',
  'sec-fetch-mode', 'sec-fetch-site', 'sec-fetch-dest', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform',
  'x-requested-with', 'connection'
]
const MAX_HEADER_CHARS = 512

export interface Signals {
  headers: Record<string, string>
  userAgent: string
  ua: { bot: boolean, missing: boolean, malformed: boolean, browser: boolean }
  anomalies: string[]
  honeypot: boolean
}

// Every real client starts with a product token and a version ("Mozilla/5.0", "okhttp/4.12.0").
const PRODUCT = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+\/[A-Za-z0-9._+-]+( |$)/
const BROWSER = /^Mozilla\/5\.0 \(.+\) .*(Chrome|Firefox|Safari|Edg|OPR|SamsungBrowser)\/\d/
const CHROMIUM = /(Chrome|Edg|OPR|SamsungBrowser)\/(\d+)/

export type HeaderSignals = Omit<Signals, 'honeypot'>

export function computeSignals (headers: IncomingHttpHeaders, body: unknown): Signals {
  return { ...headerSignals(headers), honeypot: honeypotFilled(body) }
}

/** The signals in the headers alone (the user agent's regexes are the costly part). */
export function headerSignals (headers: IncomingHttpHeaders): HeaderSignals {
  const kept: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const value = headers[name]
    const text = Array.isArray(value) ? value.join(', ') : value
    if (text !== undefined) kept[name] = text.slice(0, MAX_HEADER_CHARS)
  }
  const userAgent = kept['user-agent'] ?? ''
  const ua = userAgentVerdict(userAgent)
  return { headers: kept, userAgent, ua, anomalies: anomaliesOf(kept, ua) }
}

// The user agent's regexes (isbot's is one very large expression) cost more than all the other
// signals, and a few user agents make most of the traffic, honest or not: their verdicts are kept.
const VERDICTS_KEPT = 4096
const verdicts = new Map<string, Signals['ua']>()

function userAgentVerdict (userAgent: string): Signals['ua'] {
  let ua = verdicts.get(userAgent)
  if (ua === undefined) {
    const missing = userAgent.trim() === ''
    // eslint-disable-next-line no-control-regex -- control characters are the point
    const malformed = !missing && (userAgent.length < 8 || !PRODUCT.test(userAgent) || /[\x00-\x1f\x7f]/.test(userAgent))
    ua = Object.freeze({ bot: !missing && isbot(userAgent), missing, malformed, browser: BROWSER.test(userAgent) })
    if (verdicts.size >= VERDICTS_KEPT) verdicts.delete(verdicts.keys().next().value as string)
    verdicts.set(userAgent, ua)
  }
  return ua
}

export function honeypotFilled (body: unknown): boolean {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[HONEYPOT_FIELD] : undefined
  return typeof value === 'string' && value !== ''
}

/** What scripts get wrong: headers every browser sends, and combinations no browser makes. */
export function anomaliesOf (h: Record<string, string>, ua: Signals['ua']): string[] {
  const found: string[] = []
  if (h.accept === undefined) found.push('missing_accept')
  if (h['accept-language'] === undefined) found.push('missing_accept_language')
  if (h['accept-encoding'] === undefined) found.push('missing_accept_encoding')
  if (ua.browser) {
    if (h['accept-language'] === undefined) found.push('browser_without_accept_language')
    const chromium = CHROMIUM.exec(h['user-agent'] ?? '')
    // Chromium has sent Sec-Fetch-* since 76 and client hints since 89: a "Chrome 120" without them is not one.
    if (chromium && Number(chromium[2]) >= 90 && h['sec-fetch-mode'] === undefined) found.push('chromium_without_sec_fetch')
    if (h['x-requested-with'] !== undefined && !/android|com\./i.test(h['x-requested-with'])) found.push('browser_with_library_header')
  }
  if (!ua.browser && h['sec-fetch-mode'] !== undefined && !ua.missing && /^(curl|python|go-http|wget|java|okhttp|axios|node)/i.test(h['user-agent'] ?? '')) {
    found.push('library_with_browser_headers')
  }
  return found
}
