// A second-factor challenge: who must prove what, and where codes may go. The destinations come
// from the auth backend only, never from the client, so the gateway cannot be made to message
// anyone. The code itself is never stored: it is derived from the challenge's random nonce and
// the gateway secret (otp-code.ts), so a resend repeats it and a read of Redis reveals nothing.
import { randomToken } from '../infra/random-token.js'
import { type BackendUser } from '../login/auth-backend.js'
import { maskEmail, maskPhone } from '../login/mask.js'

export const CHANNELS = ['sms', 'voice', 'email'] as const
export type Channel = typeof CHANNELS[number]

export interface Challenge {
  id: string
  userId: string
  /** The rate-limit key of the username, to trust the device once the code is right. */
  userKey: string
  phone?: string
  email?: string
  /** Random input of the code derivation. */
  nonce: string
  createdAt: number
  expiresAt: number
  sends: number
  /** Per channel, absent until its first send: the cooldown holds per channel, so "send by voice instead" works at once. */
  lastSentAt: Partial<Record<Channel, number>>
  attempts: number
}

export type SendClaim =
  | { kind: 'claimed', previousSentAt: number }
  | { kind: 'cooldown', retryAfterMs: number }
  | { kind: 'exhausted' }
  | { kind: 'gone' }

/** Where challenges live. Methods throw GatewayError `session_store_unavailable` when the store is down. */
export interface ChallengeStore {
  create: (challenge: Challenge) => Promise<void>
  /** The challenge, or null once expired, used or deleted. */
  get: (id: string) => Promise<Challenge | null>
  /** Atomically takes the right to send on the channel now: respects its cooldown and the cap on sends. */
  claimSend: (id: string, channel: Channel, now: number, cooldownMs: number, maxSends: number) => Promise<SendClaim>
  /** Gives a claim back when no provider could deliver. */
  releaseSend: (id: string, channel: Channel, previousSentAt: number) => Promise<void>
  /** Counts one verification attempt; returns the attempts so far, or null if the challenge is gone. */
  countAttempt: (id: string) => Promise<number | null>
  /** Deletes the challenge; true for exactly one caller, so a code is used once. */
  consume: (id: string) => Promise<boolean>
}

export function needsSecondFactor (user: BackendUser): boolean {
  return Boolean(user.mfa?.phone ?? user.mfa?.email)
}

export function newChallenge (user: BackendUser, userKey: string, now: number, ttlMs: number): Challenge {
  return {
    id: randomToken(24),
    userId: user.userId,
    userKey,
    ...(user.mfa?.phone ? { phone: user.mfa.phone } : {}),
    ...(user.mfa?.email ? { email: user.mfa.email } : {}),
    nonce: randomToken(16),
    createdAt: now,
    expiresAt: now + ttlMs,
    sends: 0,
    lastSentAt: {},
    attempts: 0
  }
}

export function channelsOf (c: Pick<Challenge, 'phone' | 'email'>): Channel[] {
  return CHANNELS.filter(ch => ch === 'email' ? c.email !== undefined : c.phone !== undefined)
}

export function destinationOf (c: Pick<Challenge, 'phone' | 'email'>, channel: Channel): string | undefined {
  return channel === 'email' ? c.email : c.phone
}

export function maskedDestination (c: Pick<Challenge, 'phone' | 'email'>, channel: Channel): string | undefined {
  if (channel === 'email') return c.email === undefined ? undefined : maskEmail(c.email)
  return c.phone === undefined ? undefined : maskPhone(c.phone)
}
