// Session tokens: `<userTag>.<256 random bits>`, both base64url. The user tag puts all of a
// user's session keys in one Redis Cluster hash slot with the user's index, so issuing with
// eviction, checking and revoking stay atomic. The tag is keyed with the gateway secret, so a
// token does not tell who owns it. Only the token's SHA-256 is stored.
import { createHash, createHmac } from 'node:crypto'
import { memoizePerSecret } from '../infra/memo.js'
import { randomToken } from '../infra/random-token.js'

const TAG_LENGTH = 16 // 96 bits of SHA-256: collisions between users are out of reach
const TOKEN_PATTERN = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/

export interface ParsedToken {
  tag: string
  /** The stored identifier: SHA-256 of the whole token. */
  id: string
}

/** A user's tag is asked for at every login: remembered (bounded). */
export const userTag = memoizePerSecret((secret, userId) =>
  createHmac('sha256', secret).update(`session-user:${userId}`).digest('base64url').slice(0, TAG_LENGTH), 10_000)

export function newSessionToken (secret: string, userId: string): ParsedToken & { token: string } {
  const tag = userTag(secret, userId)
  const token = `${tag}.${randomToken(32)}`
  return { token, tag, id: hashToken(token) }
}

export function parseSessionToken (token: string): ParsedToken | null {
  const match = TOKEN_PATTERN.exec(token)
  if (!match?.[1]) return null
  return { tag: match[1], id: hashToken(token) }
}

function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
