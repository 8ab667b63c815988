// A second-factor challenge: who must prove what, where codes may go. The destinations come from
// the auth backend only, never from the client, so the gateway cannot be made to message anyone.
import { randomBytes } from 'node:crypto'
import { type BackendUser } from '../login/auth-backend.js'
import { maskEmail, maskPhone } from '../login/mask.js'

export const CHANNELS = ['sms', 'voice', 'email'] as const
export type Channel = typeof CHANNELS[number]

export interface Challenge {
  id: string
  userId: string
  phone?: string
  email?: string
  createdAt: number
  expiresAt: number
}

/** Where challenges live. Methods throw GatewayError `session_store_unavailable` when the store is down. */
export interface ChallengeStore {
  create: (challenge: Challenge) => Promise<void>
  /** The challenge, or null once expired or deleted. */
  get: (id: string) => Promise<Challenge | null>
  delete: (id: string) => Promise<void>
}

export function needsSecondFactor (user: BackendUser): boolean {
  return Boolean(user.mfa?.phone ?? user.mfa?.email)
}

export function newChallenge (user: BackendUser, now: number, ttlMs: number): Challenge {
  return {
    id: randomBytes(24).toString('base64url'),
    userId: user.userId,
    ...(user.mfa?.phone ? { phone: user.mfa.phone } : {}),
    ...(user.mfa?.email ? { email: user.mfa.email } : {}),
    createdAt: now,
    expiresAt: now + ttlMs
  }
}

export function channelsOf (c: Pick<Challenge, 'phone' | 'email'>): Channel[] {
  return CHANNELS.filter(ch => ch === 'email' ? c.email !== undefined : c.phone !== undefined)
}

export function maskedDestination (c: Pick<Challenge, 'phone' | 'email'>, channel: Channel): string | undefined {
  if (channel === 'email') return c.email === undefined ? undefined : maskEmail(c.email)
  return c.phone === undefined ? undefined : maskPhone(c.phone)
}
