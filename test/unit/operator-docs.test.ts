// What operators read: the OpenAPI document served at /docs/json and the Grafana dashboard in
// deploy/grafana, both checked against the gateway itself.
import { readFileSync } from 'node:fs'
import { validate } from '@readme/openapi-parser'
import { type FastifyInstance } from 'fastify'
import { describe, expect, it, onTestFinished } from 'vitest'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { PROBLEMS } from '../../src/errors.js'

// Demo mode, memory stores: nothing here talks to Redis or a backend.
async function demoApp (): Promise<FastifyInstance> {
  const config = loadConfig({ LOG_LEVEL: 'silent', ADMIN_TOKEN: 'docs-admin-token-0123456789abcd', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' })
  const app = await buildApp({ config, authBackendUrl: 'http://127.0.0.1:9' })
  onTestFinished(() => app.close())
  await app.ready()
  return app
}

describe('the OpenAPI document', () => {
  it('validates, and lists every public, admin and demo route and every problem code', async () => {
    const app = await demoApp()
    const res = await app.inject({ url: '/docs/json' })
    expect(res.statusCode).toBe(200)
    const spec = res.json() as { openapi: string, paths: Record<string, Record<string, unknown>>, info: { description: string }, components: { schemas: Record<string, { properties: { code: { anyOf?: Array<{ const?: string, enum?: string[] }> } } }> } }
    const result = await validate(structuredClone(spec) as never)
    expect(result.valid ? [] : result.errors).toEqual([])

    const routes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map(m => `${m.toUpperCase()} ${path}`))
    for (const route of [
      'POST /auth/login', 'POST /auth/otp/send', 'POST /auth/otp/verify', 'GET /auth/session', 'POST /auth/logout',
      'GET /healthz', 'GET /readyz', 'GET /metrics',
      'GET /admin/status', 'GET /admin/rules', 'PUT /admin/rules', 'GET /admin/decisions', 'PUT /admin/maintenance', 'DELETE /admin/maintenance',
      'GET /admin/explain', 'POST /admin/unblock', 'POST /admin/replay',
      'GET /demo/outbox', 'PUT /demo/faults'
    ]) expect(routes).toContain(route)

    for (const code of Object.keys(PROBLEMS)) expect(spec.info.description).toContain(`\`${code}\``)
    const documented = JSON.stringify(spec.components.schemas.Problem?.properties.code)
    for (const code of Object.keys(PROBLEMS)) expect(documented).toContain(`"${code}"`)
  })

  it('opens the console with or without a trailing slash', async () => {
    const app = await demoApp()
    expect((await app.inject({ url: '/console' })).statusCode).toBe(200)
    const slash = await app.inject({ url: '/console/' })
    expect(slash.statusCode).toBe(302)
    expect(slash.headers.location).toBe('/console')
  })

  it('is browsable at /docs', async () => {
    const app = await demoApp()
    const page = await app.inject({ url: '/docs/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/text\/html/)
    expect(page.body).toMatch(/swagger/i)
  })
})

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/login-gateway.json', import.meta.url), 'utf8')) as { panels: Array<{ type: string, title: string, targets?: Array<{ expr: string }> }> }
  const panels = dashboard.panels.filter(p => p.type !== 'row')

  it('queries only metrics the gateway exposes', async () => {
    const app = await demoApp()
    const exposed = new Set([...(await app.inject({ url: '/metrics' })).body.matchAll(/^# TYPE (\w+) /gm)].map(m => m[1]))
    const queried = new Set(panels.flatMap(p => p.targets ?? []).flatMap(t => [...t.expr.matchAll(/\b(lg_\w+)/g)].map(m => (m[1] ?? '').replace(/_(bucket|sum|count)$/, ''))))
    expect(queried.size).toBeGreaterThan(15)
    for (const name of queried) expect(exposed, `${name} is not a metric of the gateway`).toContain(name)
  })

  it('shows what the scale-out issue asks for', () => {
    const titles = panels.map(p => p.title.toLowerCase()).join(' | ')
    for (const topic of ['logins by outcome', 'problem answers by code', 'limit decisions', 'rule matches', 'breakers', 'otp sends by provider', 'latency']) {
      expect(titles).toContain(topic)
    }
    const exprs = panels.flatMap(p => p.targets ?? []).map(t => t.expr).join('\n')
    expect(exprs).toMatch(/histogram_quantile\(0\.99, .*lg_http_request_duration_seconds_bucket/)
  })
})
