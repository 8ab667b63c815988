import { describe, expect, it } from 'vitest'
import { randomToken } from '../../src/infra/random-token.js'

describe('randomToken', () => {
  it('hands out base64url tokens of the asked size, never the same bytes twice across pool refills', () => {
    const seen = new Set<string>()
    // 4 KiB pool: 1000 tokens of 32 bytes refill it several times, and a size that does not divide it.
    for (let i = 0; i < 1000; i++) {
      const token = randomToken(i % 2 === 0 ? 32 : 24)
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(Buffer.from(token, 'base64url').length).toBe(i % 2 === 0 ? 32 : 24)
      seen.add(token)
    }
    expect(seen.size).toBe(1000)
  })

  it('refuses sizes it cannot serve', () => {
    for (const bad of [0, -1, 1.5, 4097]) expect(() => randomToken(bad)).toThrow(RangeError)
  })
})
