import { describe, expect, it } from 'vitest'
import { normaliseUsername, USERNAME_MAX_CHARS } from '../../src/login/login-schema.js'
import { maskEmail, maskPhone, maskUsername } from '../../src/login/mask.js'

describe('normaliseUsername', () => {
  it('folds compatibility forms (NFKC) and trims', () => {
    expect(normaliseUsername('  ａｌｉｃｅ\t')).toEqual({ ok: true, value: 'alice' })
    expect(normaliseUsername('ﬁona')).toEqual({ ok: true, value: 'fiona' })
  })

  it('counts length after normalisation, in characters', () => {
    expect(normaliseUsername('用'.repeat(USERNAME_MAX_CHARS)).ok).toBe(true)
    expect(normaliseUsername('a'.repeat(USERNAME_MAX_CHARS + 1))).toEqual({ ok: false, error: { field: 'username', reason: 'too_long' } })
    expect(normaliseUsername('   ')).toEqual({ ok: false, error: { field: 'username', reason: 'too_short' } })
  })

  it('refuses control and invisible characters', () => {
    for (const bad of ['ali\u0000ce', 'ali\u200bce', 'alice\u202e', 'a\u0007']) {
      expect(normaliseUsername(bad), JSON.stringify(bad)).toEqual({ ok: false, error: { field: 'username', reason: 'invalid_format' } })
    }
  })
})

describe('masks', () => {
  it('shows only the start and end of a national phone number', () => {
    expect(maskPhone('+8613812345678')).toBe('138****5678')
    expect(maskPhone('+14155550123')).toBe('415****0123')
    expect(maskPhone('12345')).toBe('****45')
  })

  it('hides the local part of an email and most of a username', () => {
    expect(maskEmail('bob@example.com')).toBe('b***@example.com')
    expect(maskEmail('nonsense')).toBe('***')
    expect(maskUsername('alice')).toBe('a***e')
    expect(maskUsername('al')).toBe('**')
  })
})
