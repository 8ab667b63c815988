import { describe, expect, it } from 'vitest'
import { loadConfig, ConfigError } from '../../src/config.js'
import { codeFor, codeMatches } from '../../src/otp/otp-code.js'
import { suggestionFor } from '../../src/otp/otp-service.js'
import { healthScore, rankProviders } from '../../src/otp/provider-health.js'
import { countryCallingCode } from '../../src/otp/send-caps.js'

describe('one-time codes', () => {
  it('are six digits, the same for one challenge and nonce, and differ otherwise', () => {
    const code = codeFor('secret', 'challenge-a', 'nonce-1')
    expect(code).toMatch(/^\d{6}$/)
    expect(codeFor('secret', 'challenge-a', 'nonce-1')).toBe(code)
    const others = new Set(Array.from({ length: 200 }, (_, i) => codeFor('secret', `challenge-${i}`, 'nonce-1')))
    expect(others.size).toBeGreaterThan(195)
    expect(codeFor('other secret', 'challenge-a', 'nonce-1')).not.toBe(code)
  })

  it('spread over all digits', () => {
    const firstDigits = new Set(Array.from({ length: 500 }, (_, i) => codeFor('s', `c${i}`, 'n')[0]))
    expect(firstDigits.size).toBe(10)
  })

  it('compare only when equal', () => {
    expect(codeMatches('123456', '123456')).toBe(true)
    expect(codeMatches('123457', '123456')).toBe(false)
    expect(codeMatches('12345', '123456')).toBe(false)
  })
})

describe('provider order', () => {
  it('keeps the configured priority and orders by health within one priority', () => {
    const ranked = rankProviders([
      { name: 'backup', priority: 2, score: 1 },
      { name: 'flaky', priority: 1, score: 0.2 },
      { name: 'steady', priority: 1, score: 0.9 }
    ])
    expect(ranked.map(r => r.name)).toEqual(['steady', 'flaky', 'backup'])
  })

  it('scores failures and slowness down, and an unknown provider as healthy', () => {
    expect(healthScore([], 1000)).toBe(1)
    expect(healthScore([{ ok: false, latencyMs: 10 }], 1000)).toBe(0)
    const fast = healthScore([{ ok: true, latencyMs: 50 }, { ok: true, latencyMs: 50 }], 1000)
    const slow = healthScore([{ ok: true, latencyMs: 900 }, { ok: true, latencyMs: 900 }], 1000)
    const halfFailing = healthScore([{ ok: true, latencyMs: 50 }, { ok: false, latencyMs: 1000 }], 1000)
    expect(fast).toBeGreaterThan(slow)
    expect(slow).toBeGreaterThan(halfFailing)
  })
})

describe('what a customer is told when a channel fails', () => {
  it('names the other channels in English and Chinese', () => {
    expect(suggestionFor(['voice', 'email'])).toEqual({ en: 'You can get it by voice call or email instead.', 'zh-CN': '您可以改用语音电话或邮件接收。' })
    expect(suggestionFor([]).en).toBe('Please try again in a few minutes.')
  })
})

describe('country calling codes', () => {
  it('come from the number', () => {
    expect(countryCallingCode('+8613812345678')).toBe('86')
    expect(countryCallingCode('+14155550123')).toBe('1')
    expect(countryCallingCode('garbage')).toBeUndefined()
  })
})

describe('OTP_PROVIDERS', () => {
  const production = { AUTH_BACKEND_URL: 'http://b', REDIS_URL: 'redis://r', GATEWAY_SECRET: 's'.repeat(32) }
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env)
      return ''
    } catch (err) {
      if (err instanceof ConfigError) return err.message
      throw err
    }
  }

  it('defaults to the demo providers in demo mode and to none in production', () => {
    expect(loadConfig({}).otpProviders.map(p => p.name)).toEqual(['demo-sms', 'demo-sms-backup', 'demo-voice', 'demo-email'])
    expect(loadConfig(production).otpProviders).toEqual([])
  })

  it('names the provider and field of a mistake, and never prints a token', () => {
    const message = problems({ ...production, OTP_PROVIDERS: JSON.stringify([{ type: 'twilio', name: 'tw', channels: ['sms'], accountSid: 'AC1', authToken: 'tok-secret-123' }]) })
    expect(message).toMatch(/OTP_PROVIDERS\[0\] \(tw\): must have required property 'from'/)
    expect(message).not.toContain('tok-secret-123')
    expect(problems({ ...production, OTP_PROVIDERS: '[{"type":"pigeon","name":"p"}]' })).toMatch(/OTP_PROVIDERS\[0\] \(p\): type must be one of webhook, twilio, smtp, demo/)
    expect(problems({ ...production, OTP_PROVIDERS: '[{"type":"demo","name":"d","channels":["sms"]}]' })).toMatch(/demo providers are for demo mode only/)
  })

  it('fills in priority and timeout', () => {
    const [p] = loadConfig({ ...production, OTP_PROVIDERS: '[{"type":"webhook","name":"w","channels":["sms"],"url":"http://x/send"}]' }).otpProviders
    expect(p).toMatchObject({ priority: 10, timeoutMs: 3000 })
  })
})
