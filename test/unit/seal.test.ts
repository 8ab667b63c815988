import { describe, expect, it } from 'vitest'
import { seal, unseal } from '../../src/infra/seal.js'

describe('sealed strings', () => {
  it('open with the same secret and purpose only, and never show the text', () => {
    const sealed = seal('secret', 'otp', '+8613812345678')
    expect(sealed).not.toContain('13812345678')
    expect(seal('secret', 'otp', '+8613812345678')).not.toBe(sealed) // a fresh IV every time
    expect(unseal('secret', 'otp', sealed)).toBe('+8613812345678')
    expect(unseal('other', 'otp', sealed)).toBeUndefined()
    expect(unseal('secret', 'else', sealed)).toBeUndefined()
    expect(unseal('secret', 'otp', `${sealed.slice(0, -2)}AA`)).toBeUndefined()
  })
})
