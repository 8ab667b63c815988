// One-time codes: six digits derived from the challenge's random nonce (from the CSPRNG) under
// the gateway secret. Nothing of the code is stored; whoever holds the secret and the nonce can
// recompute it, which is what lets a resend repeat the same code.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const CODE_DIGITS = 6

export function codeFor (secret: string, challengeId: string, nonce: string): string {
  const mac = createHmac('sha256', secret).update(`otp:${challengeId}:${nonce}`).digest()
  // 48 bits modulo 10^6: the bias (about 1e-9) is far below anything guessable.
  return String(mac.readUIntBE(0, 6) % 10 ** CODE_DIGITS).padStart(CODE_DIGITS, '0')
}

/** Constant-time comparison of a submitted code with the challenge's. */
export function codeMatches (given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
