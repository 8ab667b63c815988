// Email over SMTP through one pooled nodemailer transport. nodemailer cannot cancel a send, so
// the caller's signal and the deadline end the wait; the pool's socket timeout ends the socket.
import { getSystemErrorName } from 'node:util'
import { createTransport } from 'nodemailer'
import { otpSubject, otpText } from '../message.js'
import { type OtpProvider, ProviderError } from '../provider.js'

export interface SmtpProviderOptions {
  name: string
  host: string
  port: number
  /** TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
  secure?: boolean
  user?: string
  pass?: string
  /** The sender, e.g. `Example <no-reply@example.com>`. */
  from: string
  timeoutMs: number
}

// One plain address: a list or a display name here would let a destination add recipients.
const SINGLE_ADDRESS = /^[^\s@,;:<>()"[\]\\]+@[^\s@,;:<>()"[\]\\]+$/

function waitUnlessAborted<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    // A send that ends after the abort settles nothing, and its rejection is handled here.
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

// nodemailer's messages quote the SMTP reply, which may name the recipient: keep codes only.
function failureOf (err: unknown): string {
  const { code, responseCode, errno, command } = err as Record<string, unknown>
  const parts = [
    typeof code === 'string' ? code : 'error',
    typeof responseCode === 'number' ? String(responseCode) : undefined,
    typeof errno === 'number' && errno < 0 ? getSystemErrorName(errno) : undefined
  ]
  const at = typeof command === 'string' ? ` at ${command}` : ''
  return `failed${at} (${parts.filter(part => part !== undefined).join(' ')})`
}

export function createSmtpProvider (opts: SmtpProviderOptions): OtpProvider {
  const transport = createTransport({
    pool: true,
    host: opts.host,
    port: opts.port,
    secure: opts.secure ?? false,
    ...(opts.user === undefined ? {} : { auth: { user: opts.user, pass: opts.pass ?? '' } }),
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    dnsTimeout: opts.timeoutMs,
    logger: false
  })

  return {
    name: opts.name,
    channels: ['email'],
    async send (message, signal) {
      if (message.channel !== 'email') throw new ProviderError(opts.name, `channel ${message.channel} not supported`)
      if (!SINGLE_ADDRESS.test(message.to)) throw new ProviderError(opts.name, 'destination is not a single address')
      if (signal.aborted) throw new ProviderError(opts.name, 'aborted')
      const deadline = AbortSignal.timeout(opts.timeoutMs)
      const sending = transport.sendMail({
        from: opts.from,
        to: message.to,
        subject: otpSubject(message.locale),
        text: otpText('email', message.code, message.locale)
      })
      try {
        const info = await waitUnlessAborted(sending, AbortSignal.any([signal, deadline]))
        return { messageId: info.messageId }
      } catch (err) {
        if (deadline.aborted) throw new ProviderError(opts.name, `timed out after ${opts.timeoutMs} ms`)
        if (signal.aborted) throw new ProviderError(opts.name, 'aborted')
        throw new ProviderError(opts.name, failureOf(err))
      }
    },
    async close () {
      // Idle connections end now; one still inside a send ends with it or at the socket timeout.
      transport.close()
    }
  }
}
