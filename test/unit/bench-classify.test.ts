import { describe, expect, it } from 'vitest'
import { classifyAnswer, isAttackStep, passedGuard, readAnswer } from '../../bench/measure/classify.js'
import { cookieValue } from '../../bench/traffic/agent.js'

describe('classifying answers', () => {
  it('reads the problem code, Retry-After and cookies from a raw answer, whatever the header case', () => {
    const a = readAnswer(429, '{"type":"/problems/too_many_attempts","code":"too_many_attempts","retryAfter":41}', { 'Retry-After': '41', 'content-type': 'application/problem+json' })
    expect(a).toMatchObject({ status: 429, code: 'too_many_attempts', retryAfterS: 41, setCookies: [] })
    const ok = readAnswer(200, '{"status":"authenticated","userId":"u-h1"}', { 'set-cookie': ['sid=abc; Path=/; HttpOnly', 'did=dev.sig; Path=/auth; HttpOnly'] })
    expect(ok.code).toBe('authenticated')
    expect(ok.retryAfterS).toBeUndefined()
    expect(cookieValue(ok.setCookies, 'did')).toBe('dev.sig')
    expect(cookieValue(ok.setCookies, 'sid')).toBe('abc')
    expect(cookieValue(['did=; Max-Age=0'], 'did')).toBeUndefined()
  })

  it('survives bodies that are not JSON objects and Retry-After given as a date', () => {
    expect(readAnswer(502, '<html>bad gateway</html>', {})).toMatchObject({ code: '', json: undefined })
    expect(readAnswer(200, '[1,2]', {}).json).toBeUndefined()
    expect(readAnswer(503, '{"code":', { 'retry-after': 'Wed, 21 Oct 2026 07:28:00 GMT' })).toMatchObject({ code: '', retryAfterS: undefined })
  })

  it('tells a backend verdict from a block, an outage and a bug', () => {
    expect(classifyAnswer(200, 'authenticated')).toBe('success')
    expect(classifyAnswer(200, '')).toBe('success') // the direct backend's {"userId"}
    expect(classifyAnswer(200, 'otp_required')).toBe('progress')
    expect(classifyAnswer(200, 'sent')).toBe('progress')
    expect(classifyAnswer(401, 'invalid_credentials')).toBe('refused')
    expect(classifyAnswer(401, '')).toBe('refused')
    expect(classifyAnswer(401, 'invalid_code')).toBe('refused')
    expect(classifyAnswer(429, 'too_many_attempts')).toBe('blocked')
    expect(classifyAnswer(403, 'request_blocked')).toBe('blocked')
    expect(classifyAnswer(403, 'challenge_required')).toBe('blocked')
    expect(classifyAnswer(503, 'auth_unavailable')).toBe('unavailable')
    expect(classifyAnswer(503, 'maintenance')).toBe('unavailable')
    expect(classifyAnswer(500, 'internal_error')).toBe('server_error')
    expect(classifyAnswer(502, '')).toBe('server_error')
    expect(classifyAnswer(410, 'challenge_expired')).toBe('client_error')
    expect(classifyAnswer(0, 'transport')).toBe('transport')
  })

  it('counts the login as the attack, except for SMS pumping where the sends are', () => {
    expect(isAttackStep('stuffing', 'login')).toBe(true)
    expect(isAttackStep('bot', 'login')).toBe(true)
    expect(isAttackStep('sms-pumping', 'login')).toBe(false)
    expect(isAttackStep('sms-pumping', 'otp_send')).toBe(true)
    expect(isAttackStep('honest', 'login')).toBe(false)
    expect(passedGuard('refused')).toBe(true)
    expect(passedGuard('progress')).toBe(true)
    expect(passedGuard('blocked')).toBe(false)
    expect(passedGuard('unavailable')).toBe(false)
  })
})
