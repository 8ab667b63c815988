import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { GatewayError, PROBLEMS } from '../../src/errors.js'
import { pickLocale, toFieldErrors, toProblem } from '../../src/problem-details.js'

const ctx = { requestId: 'req-1', locale: 'en' as const, instance: '/auth/login', typeBase: '/problems/' }

describe('pickLocale', () => {
  it.each([
    [undefined, 'en'],
    ['zh-CN,zh;q=0.9,en;q=0.8', 'zh-CN'],
    ['en-US,en;q=0.9,zh-CN;q=0.8', 'en'],
    ['zh-TW', 'zh-CN'],
    ['fr-FR, zh;q=0.5', 'zh-CN'],
    ['fr-FR', 'en'],
    ['en;q=0.2, zh;q=0.3', 'zh-CN'],
    ['garbage;;;q=x', 'en']
  ])('%s → %s', (header, locale) => {
    expect(pickLocale(header)).toBe(locale)
  })
})

describe('toProblem', () => {
  it('renders a catalog error with Retry-After in header and body, localised', () => {
    const problem = toProblem(new GatewayError('too_many_attempts', { retryAfterSeconds: 29.2 }), { ...ctx, locale: 'zh-CN' })
    expect(problem.status).toBe(429)
    expect(problem.headers['retry-after']).toBe('30')
    expect(problem.body).toEqual({
      type: '/problems/too_many_attempts',
      title: '尝试次数过多',
      status: 429,
      detail: '尝试次数过多，请在 30 秒后重试。',
      instance: '/auth/login',
      code: 'too_many_attempts',
      requestId: 'req-1',
      retryAfter: 30
    })
  })

  it('turns an unexpected exception into internal_error without its message or stack', () => {
    const problem = toProblem(new Error('database password is hunter2'), ctx)
    expect(problem.status).toBe(500)
    expect(problem.code).toBe('internal_error')
    expect(JSON.stringify(problem.body)).not.toMatch(/hunter2|stack|Error:/)
  })

  it('maps Fastify body errors to the catalog', () => {
    expect(toProblem(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), ctx).code).toBe('payload_too_large')
    expect(toProblem(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }), ctx).code).toBe('unsupported_media_type')
    expect(toProblem(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }), ctx).body.errors).toEqual([{ field: 'body', reason: 'malformed_body' }])
  })

  it('names the fields of a validation error without echoing their values', () => {
    expect(toFieldErrors([
      { keyword: 'required', instancePath: '', params: { missingProperty: 'password' } },
      { keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'isAdmin' } },
      { keyword: 'maxLength', instancePath: '/username', params: { limit: 512 } },
      { keyword: 'type', instancePath: '/username', params: { type: 'string' } },
      { keyword: 'type', instancePath: '/username', params: { type: 'string' } }
    ])).toEqual([
      { field: 'password', reason: 'required' },
      { field: 'isAdmin', reason: 'unknown_field' },
      { field: 'username', reason: 'too_long' },
      { field: 'username', reason: 'invalid_type' }
    ])
  })

  it('has an English and a Chinese title and detail for every code, and no unfilled placeholder', () => {
    for (const [code, spec] of Object.entries(PROBLEMS)) {
      expect(spec.title.en, code).not.toBe('')
      expect(spec.title['zh-CN'], code).toMatch(/[\u4e00-\u9fff]/)
      const placeholders = (t: string) => [...t.matchAll(/\{(\w+)\}/g)].map(m => m[1]).sort()
      expect(placeholders(spec.detail['zh-CN']), code).toEqual(placeholders(spec.detail.en))
    }
  })
})

describe('README problem table', () => {
  it('lists every catalog code with its status, and nothing else', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const rows = [...readme.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map(m => [m[2], Number(m[1])])
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(PROBLEMS).map(([code, s]) => [code, s.status])))
  })
})
