// A generic HTTP JSON webhook: any 2xx is an acceptance. Also home of the HTTP call that the
// Twilio adapter shares, so both classify timeouts, aborts and transport errors the same way.
import { randomUUID } from 'node:crypto'
import { type Dispatcher, Pool } from 'undici'
import { type Channel } from '../challenge.js'
import { otpText } from '../message.js'
import { type OtpMessage, type OtpProvider, ProviderError } from '../provider.js'

export interface WebhookProviderOptions {
  name: string
  channels: Channel[]
  /** http or https; the path and query are kept. */
  url: string
  method?: 'POST' | 'PUT'
  headers?: Record<string, string>
  /** JSON text with {{to}}, {{code}}, {{text}}, {{channel}}, {{locale}} inside string literals. */
  bodyTemplate?: string
  /** Dot path of the message id in the JSON answer; by default `messageId`, else `id`. */
  messageIdPath?: string
  timeoutMs: number
}

/** One request to a provider's HTTP API, relative to the pool's origin. */
export interface ProviderCall {
  path: string
  method: 'POST' | 'PUT'
  headers: Record<string, string>
  body: string
}

const DEFAULT_TEMPLATE = '{"channel":"{{channel}}","to":"{{to}}","code":"{{code}}","text":"{{text}}","locale":"{{locale}}"}'
const PLACEHOLDER = /\{\{(to|code|text|channel|locale)\}\}/g
// Enough for any acceptance; a larger answer is cut, never buffered whole.
const MAX_ANSWER_BYTES = 64 * 1024
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

export function createHttpPool (provider: string, url: URL, timeoutMs: number): Pool {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${provider}: unsupported protocol ${url.protocol}`)
  // The pool only knows the origin: credentials in the URL would be dropped without a word.
  if (url.username !== '' || url.password !== '') throw new Error(`${provider}: credentials belong in headers, not in the URL`)
  return new Pool(url.origin, { connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
}

// One deadline for connect, headers and body; no answer at all becomes a ProviderError.
export async function callProvider (pool: Pool, provider: string, call: ProviderCall, signal: AbortSignal,
  timeoutMs: number): Promise<{ statusCode: number, text: string }> {
  const deadline = AbortSignal.timeout(timeoutMs)
  try {
    const res = await pool.request({ ...call, signal: AbortSignal.any([signal, deadline]) })
    return { statusCode: res.statusCode, text: await readCapped(res.body) }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (deadline.aborted || TIMEOUT_CODES.has(String(code))) {
      throw new ProviderError(provider, `timed out after ${timeoutMs} ms`, { cause: err })
    }
    if (signal.aborted) throw new ProviderError(provider, 'aborted', { cause: err })
    throw new ProviderError(provider, `request failed (${typeof code === 'string' ? code : (err as Error).name})`, { cause: err })
  }
}

async function readCapped (body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_ANSWER_BYTES) break // leaving the loop destroys the stream
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function fillTemplate (template: string, message: OtpMessage): string {
  const values: Record<string, string> = {
    to: message.to,
    code: message.code,
    text: otpText(message.channel, message.code, message.locale),
    channel: message.channel,
    locale: message.locale
  }
  // Escaped as the inside of a JSON string, so no value can break out of its quotes.
  return template.replace(PLACEHOLDER, (_, key: string) => JSON.stringify(values[key]).slice(1, -1))
}

function valueAt (answer: unknown, path: string): string | undefined {
  let node = answer
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  if (typeof node === 'string' && node !== '') return node
  if (typeof node === 'number' && Number.isFinite(node)) return String(node)
  return undefined
}

export function createWebhookProvider (opts: WebhookProviderOptions): OtpProvider {
  const template = opts.bodyTemplate ?? DEFAULT_TEMPLATE
  const sample: OtpMessage = { channel: 'sms', to: '+10000000000', code: '000000', locale: 'en' }
  // Fail at startup, not at the first login: the template must be JSON once filled in.
  if (parseJson(fillTemplate(template, sample)) === undefined) {
    throw new Error(`${opts.name}: bodyTemplate is not valid JSON once its placeholders are filled in`)
  }
  const url = new URL(opts.url)
  const pool = createHttpPool(opts.name, url, opts.timeoutMs)
  const headers: Record<string, string> = {}
  for (const [key, value] of Object.entries(opts.headers ?? {})) headers[key.toLowerCase()] = value
  headers['content-type'] = 'application/json'
  const idPaths = opts.messageIdPath === undefined ? ['messageId', 'id'] : [opts.messageIdPath]

  return {
    name: opts.name,
    channels: [...opts.channels],
    async send (message, signal) {
      if (!opts.channels.includes(message.channel)) {
        throw new ProviderError(opts.name, `channel ${message.channel} not supported`)
      }
      const call = { path: url.pathname + url.search, method: opts.method ?? 'POST', headers, body: fillTemplate(template, message) }
      const answer = await callProvider(pool, opts.name, call, signal, opts.timeoutMs)
      if (answer.statusCode < 200 || answer.statusCode > 299) {
        throw new ProviderError(opts.name, `answered ${answer.statusCode}`)
      }
      const json = parseJson(answer.text)
      for (const path of idPaths) {
        const id = valueAt(json, path)
        if (id !== undefined) return { messageId: id }
      }
      return { messageId: randomUUID() }
    },
    async close () {
      await pool.close()
    }
  }
}
