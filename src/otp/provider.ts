// The OTP provider edge: one small interface, many adapters (HTTP webhook, Twilio-compatible,
// SMTP, demo outbox). Failover, breakers and health ranking live in the caller, not here.
import { type Locale } from '../errors.js'
import { type Channel } from './challenge.js'

export interface OtpMessage {
  channel: Channel
  /** E.164 phone number for sms and voice, an address for email. Never logged in full. */
  to: string
  /** The six digits. Never logged. */
  code: string
  locale: Locale
}

export interface OtpProvider {
  /** Unique among the configured providers; appears in metrics and logs, never to clients. */
  readonly name: string
  readonly channels: readonly Channel[]
  /** Resolves once the provider has accepted the message; rejects on any failure. Honour `signal`. */
  send: (message: OtpMessage, signal: AbortSignal) => Promise<{ messageId: string }>
  /** Releases connections; called once when the gateway closes. */
  close: () => Promise<void>
}

/** Thrown by adapters for an answer that is not an acceptance (status, body), with a safe summary. */
export class ProviderError extends Error {
  constructor (readonly provider: string, message: string, options?: ErrorOptions) {
    super(`${provider}: ${message}`, options)
    this.name = 'ProviderError'
  }
}
