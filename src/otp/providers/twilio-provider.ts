// Twilio's REST API (2010-04-01): Messages for sms, Calls with inline TwiML for voice, form
// encoded with basic auth. Any service speaking this wire format works through `baseUrl`.
import { randomUUID } from 'node:crypto'
import { type Locale } from '../../errors.js'
import { otpText } from '../message.js'
import { type OtpMessage, type OtpProvider, ProviderError } from '../provider.js'
import { callProvider, createHttpPool, parseJson, type ProviderCall } from './webhook-provider.js'

export interface TwilioProviderOptions {
  name: string
  channels: Array<'sms' | 'voice'>
  /** Default https://api.twilio.com; a path prefix is kept. */
  baseUrl?: string
  accountSid: string
  authToken: string
  /** The sending number, E.164. */
  from: string
  timeoutMs: number
}

// Languages of <Say>, per locale.
const SAY_LANGUAGE: Record<Locale, string> = { en: 'en-US', 'zh-CN': 'zh-CN' }
const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&apos;' }

function escapeXml (text: string): string {
  return text.replace(/[&<>"']/g, ch => XML_ENTITIES[ch] ?? ch)
}

function toTwiml (text: string, locale: Locale): string {
  return `<Response><Say language="${SAY_LANGUAGE[locale]}">${escapeXml(text)}</Say></Response>`
}

// Twilio's error body is {code, message, status}; only the numeric code is safe to repeat, as
// its message may quote the destination number.
function twilioCodeOf (text: string): number | undefined {
  const body = parseJson(text)
  if (typeof body !== 'object' || body === null) return undefined
  const code = (body as { code?: unknown }).code
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined
}

function sidOf (text: string): string | undefined {
  const body = parseJson(text)
  if (typeof body !== 'object' || body === null) return undefined
  const sid = (body as { sid?: unknown }).sid
  return typeof sid === 'string' && sid !== '' ? sid : undefined
}

export function createTwilioProvider (opts: TwilioProviderOptions): OtpProvider {
  const base = new URL(opts.baseUrl ?? 'https://api.twilio.com')
  const pool = createHttpPool(opts.name, base, opts.timeoutMs)
  const accountPath = `${base.pathname.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(opts.accountSid)}`
  const headers = {
    authorization: `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json'
  }

  function callFor (message: OtpMessage & { channel: 'sms' | 'voice' }): ProviderCall {
    const text = otpText(message.channel, message.code, message.locale)
    const form: Record<string, string> = message.channel === 'sms'
      ? { To: message.to, From: opts.from, Body: text }
      : { To: message.to, From: opts.from, Twiml: toTwiml(text, message.locale) }
    const resource = message.channel === 'sms' ? 'Messages.json' : 'Calls.json'
    return { path: `${accountPath}/${resource}`, method: 'POST', headers, body: new URLSearchParams(form).toString() }
  }

  return {
    name: opts.name,
    channels: [...opts.channels],
    async send (message, signal) {
      const { channel } = message
      if (channel === 'email' || !opts.channels.includes(channel)) {
        throw new ProviderError(opts.name, `channel ${channel} not supported`)
      }
      const answer = await callProvider(pool, opts.name, callFor({ ...message, channel }), signal, opts.timeoutMs)
      if (answer.statusCode < 200 || answer.statusCode > 299) {
        const code = twilioCodeOf(answer.text)
        throw new ProviderError(opts.name, `answered ${answer.statusCode}${code === undefined ? '' : ` (twilio code ${code})`}`)
      }
      // A 2xx means Twilio created the message; failing here would only send the code twice.
      return { messageId: sidOf(answer.text) ?? randomUUID() }
    },
    async close () {
      await pool.close()
    }
  }
}
