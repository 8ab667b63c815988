// Masks for what users and logs may see of a destination or account: never the full value.
import { parsePhoneNumberFromString } from 'libphonenumber-js/min'

/** "+8613812345678" → "138****5678": the national number with its middle hidden. */
export function maskPhone (phone: string): string {
  const national = parsePhoneNumberFromString(phone)?.nationalNumber ?? phone.replace(/\D/g, '')
  if (national.length < 7) return `****${national.slice(-2)}`
  return `${national.slice(0, 3)}****${national.slice(-4)}`
}

/** "bob@example.com" → "b***@example.com" */
export function maskEmail (email: string): string {
  const at = email.lastIndexOf('@')
  if (at < 1) return '***'
  return `${email.slice(0, 1)}***${email.slice(at)}`
}

/** For logs: enough to tell accounts apart in an incident, not enough to name one. */
export function maskUsername (username: string): string {
  const chars = [...username]
  if (chars.length <= 2) return '**'
  return `${chars[0]}***${chars.at(-1)}`
}
