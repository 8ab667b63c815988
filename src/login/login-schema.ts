// The login body: validated by schema (types, sizes, no unknown fields), then the username is
// normalised so that "ａｌｉｃｅ " and "alice" are one account to every later stage.
import { type Static, Type } from '@sinclair/typebox'
import { type FieldError } from '../errors.js'

export const USERNAME_MAX_CHARS = 128

export const LoginBody = Type.Object({
  // Raw limits are looser than the normalised ones: NFKC may expand or shrink the text.
  username: Type.String({ minLength: 1, maxLength: USERNAME_MAX_CHARS * 4 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  deviceId: Type.Optional(Type.String({ minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' })),
  // The honeypot (signals.ts): a hidden form field people never see, so never fill in.
  website: Type.Optional(Type.String({ maxLength: 512 }))
}, { additionalProperties: false })
export type LoginInput = Static<typeof LoginBody>

/** The login body in stages that run after schema validation (hooks are typed for any route). */
export function loginBodyOf (request: { body: unknown }): LoginInput {
  return request.body as LoginInput
}

// Control, format (zero-width), surrogate, private-use and unassigned code points: they make
// look-alike usernames and never belong in one.
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u

export type NormalisedUsername = { ok: true, value: string } | { ok: false, error: FieldError }

export function normaliseUsername (raw: string): NormalisedUsername {
  const value = raw.normalize('NFKC').trim()
  const fail = (reason: FieldError['reason']): NormalisedUsername => ({ ok: false, error: { field: 'username', reason } })
  if (value.length === 0) return fail('too_short')
  if ([...value].length > USERNAME_MAX_CHARS) return fail('too_long')
  if (FORBIDDEN.test(value)) return fail('invalid_format')
  return { ok: true, value }
}
