import { createHmac } from 'node:crypto'
import { memoize } from '../infra/memo.js'

const KEPT = 10_000

/**
 * The key limits count a username under: case-folded (so case variants share one budget) and
 * hashed with the gateway secret, so Redis never holds usernames, and phone-number usernames
 * cannot be recovered by hashing every number.
 */
export function userKeyOf (secret: string, username: string): string {
  return createHmac('sha256', secret).update(`user:${username.toLowerCase()}`).digest('base64url').slice(0, 22)
}

/** userKeyOf for one secret, remembering the most recent usernames' keys. */
export function createUserKeys (secret: string): (username: string) => string {
  return memoize(username => userKeyOf(secret, username), KEPT)
}
