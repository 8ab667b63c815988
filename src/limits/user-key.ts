import { createHmac } from 'node:crypto'

/**
 * The key limits count a username under: case-folded (so case variants share one budget) and
 * hashed with the gateway secret, so Redis never holds usernames, and phone-number usernames
 * cannot be recovered by hashing every number.
 */
export function userKeyOf (secret: string, username: string): string {
  return createHmac('sha256', secret).update(`user:${username.toLowerCase()}`).digest('base64url').slice(0, 22)
}
