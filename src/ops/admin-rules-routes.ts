// The admin API for security teams and support staff: the abuse rules (read, replace), the
// recent decisions, per-rule hits, explain (which rules and limits hold a username, address or
// device, until when) and the scoped, expiring unblock. Registered inside the admin plugin, so
// the bearer-token check covers it.
import { Type } from '@sinclair/typebox'
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type Config } from '../config.js'
import { type Metrics } from '../infra/metrics.js'
import { addressOf } from '../limits/address.js'
import { limitKeys, type LimitSubject } from '../limits/limit-policy.js'
import { type LoginGuards } from '../login-guards.js'
import { maskUsername } from '../login/mask.js'
import { invalidRequest } from '../problem-details.js'
import { isMap, isSeq, parseDocument } from 'yaml'
import { GatewayError } from '../errors.js'
import { parseDecisionLine, replay } from '../rules/replay.js'
import { ruleSummary } from '../rules/rule-engine.js'
import { parseRules } from '../rules/rules-file.js'
import { type StatsSampler } from './stats-sampler.js'

export interface AdminRulesDeps {
  config: Config
  guards: LoginGuards
  metrics: Metrics
  stats: StatsSampler
  now: () => number
}

const RULES_BODY_LIMIT = 256 * 1024
const REPLAY_BODY_LIMIT = 5 * 1024 * 1024
const Subject = Type.Object({
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  ip: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
  device: Type.Optional(Type.String({ minLength: 8, maxLength: 512 }))
}, { additionalProperties: false })

export const adminRulesRoutes: FastifyPluginAsyncTypebox<AdminRulesDeps> = async function adminRulesRoutes (app, deps) {
  const { guards, config, now } = deps
  // Rules come as YAML (or JSON, which is YAML too), kept as the text the team wrote.
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'], { parseAs: 'string', bodyLimit: RULES_BODY_LIMIT }, (_request, body, done) => { done(null, body) })

  async function hits (): Promise<Record<string, { enforced: number, shadow: number }>> {
    const counts: Record<string, { enforced: number, shadow: number }> = {}
    for (const v of (await deps.metrics.ruleMatches.get()).values) {
      const rule = String(v.labels.rule)
      counts[rule] ??= { enforced: 0, shadow: 0 }
      counts[rule][v.labels.mode === 'shadow' ? 'shadow' : 'enforced'] = v.value
    }
    return counts
  }

  app.get('/admin/rules', async function getRules () {
    const set = guards.rules.current()
    const counts = await hits()
    return {
      version: set.version,
      origin: set.origin,
      loadedAt: new Date(set.loadedAt).toISOString(),
      rules: ruleSummary(set.rules).map(r => ({ ...r, hits: counts[r.id] ?? { enforced: 0, shadow: 0 } })),
      source: set.source
    }
  })

  app.put('/admin/rules', { bodyLimit: RULES_BODY_LIMIT }, async function putRules (request) {
    const text = typeof request.body === 'string' ? request.body : JSON.stringify(request.body, null, 2)
    const result = await guards.rules.replace(text, 'admin')
    if (!result.ok) {
      throw invalidRequest(result.errors.map(e => ({
        // A rule's field as rules[2].when.ip; a document-level problem by its key, or 'body' for YAML syntax.
        field: e.index === undefined ? (e.field === '' ? 'body' : e.field) : `rules[${e.index}]${e.field ? `.${e.field}` : ''}`,
        reason: 'invalid_format' as const,
        message: e.message,
        ...(e.ruleId ? { ruleId: e.ruleId } : {})
      })))
    }
    return { version: result.version }
  })

  // Switch one rule's mode without retyping the file: comments and order are kept.
  app.patch('/admin/rules/:id', {
    schema: {
      params: Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }) }),
      body: Type.Object({
        mode: Type.Union([Type.Literal('enforce'), Type.Literal('shadow'), Type.Literal('canary')]),
        canaryPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 99 }))
      }, { additionalProperties: false })
    }
  }, async function setRuleMode (request) {
    const { id } = request.params
    const doc = parseDocument(guards.rules.current().source)
    const rules = doc.get('rules')
    const rule = isSeq(rules) ? rules.items.find(item => isMap(item) && item.get('id') === id) : undefined
    if (!isMap(rule)) throw new GatewayError('not_found')
    rule.set('mode', request.body.mode)
    if (request.body.mode === 'canary') rule.set('canaryPercent', request.body.canaryPercent ?? 10)
    else rule.delete('canaryPercent')
    const result = await guards.rules.replace(doc.toString(), 'admin')
    if (!result.ok) throw invalidRequest(result.errors.map(e => ({ field: e.field || 'body', reason: 'invalid_format' as const, message: e.message })))
    return { version: result.version, id, mode: request.body.mode }
  })

  // Replay a decision log under candidate rules: what they would block or challenge, and whom.
  app.post('/admin/replay', {
    bodyLimit: REPLAY_BODY_LIMIT,
    schema: { body: Type.Object({ log: Type.String({ maxLength: REPLAY_BODY_LIMIT }), rules: Type.String({ maxLength: RULES_BODY_LIMIT }) }, { additionalProperties: false }) }
  }, async function replayRules (request) {
    const parsed = parseRules(request.body.rules)
    if (!parsed.ok) throw invalidRequest(parsed.errors.map(e => ({ field: e.index === undefined ? 'rules' : `rules[${e.index}]${e.field ? `.${e.field}` : ''}`, reason: 'invalid_format' as const, message: e.message })))
    const records = request.body.log.split('\n').filter(l => l.trim() !== '').map(parseDecisionLine)
    const report = replay(records.filter(r => r !== undefined), parsed.rules)
    return { ...report, skippedLines: records.filter(r => r === undefined).length }
  })

  app.get('/admin/stats', { schema: { querystring: Type.Object({ minutes: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}$' })) }) } }, async function stats (request) {
    return { minutes: deps.stats.series(Math.min(30, Number(request.query.minutes ?? 15))) }
  })

  app.get('/admin/decisions', {
    schema: {
      querystring: Type.Object({
        limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
        verdict: Type.Optional(Type.String({ maxLength: 64 })),
        rule: Type.Optional(Type.String({ maxLength: 64 })),
        ip: Type.Optional(Type.String({ maxLength: 64 })),
        user: Type.Optional(Type.String({ maxLength: 64 }))
      }, { additionalProperties: false })
    }
  }, async function decisions (request) {
    const { limit, ...filter } = request.query
    return { decisions: guards.decisions.recent(Math.min(1000, Number(limit ?? 100)), filter) }
  })

  app.get('/admin/explain', { schema: { querystring: Subject } }, async function explain (request) {
    const { username, ip, device } = request.query
    if (username === undefined && ip === undefined) throw invalidRequest([{ field: 'username', reason: 'required' }])
    const userKey = username === undefined ? '' : guards.userKeyOf(username)
    const address = ip === undefined ? undefined : addressOf(ip)
    const subject: LimitSubject = { ipKey: address?.ipKey ?? '', subnet: address?.subnet ?? '', userKey, ...(device ? { deviceId: device } : {}) }
    const relevant = limitKeys(subject, config.limits).filter(k => !k.key.startsWith(':') && !k.key.endsWith(':') && k.key !== '')
    const limits = await Promise.all(relevant.map(async k => {
      const counter = await guards.counters.peek(k).catch(() => null)
      const budget = config.limits[k.name].points
      const cachedMs = guards.blocks.msLeft(`${k.name}:${k.key}`)
      const heldMs = Math.max(cachedMs, counter !== null && counter.consumed > budget ? counter.msBeforeNext : 0)
      return { limit: k.name, count: counter?.consumed ?? 0, budget, holds: heldMs > 0, ...(heldMs > 0 ? { until: new Date(now() + heldMs).toISOString() } : {}) }
    }))
    const decisions = guards.decisions.recent(20, { ...(ip ? { ip: address?.ipKey } : {}), ...(username ? { user: userKey } : {}) })
    return {
      subject: { ...(username ? { username: maskUsername(username) } : {}), ...(address ? { ipKey: address.ipKey, subnet: address.subnet } : {}), ...(device ? { device: 'given' } : {}) },
      limits,
      rules: [...new Set(decisions.flatMap(d => [...d.verdict.enforced, ...d.verdict.shadowed]))],
      exemptions: guards.exemptions.list().filter(e => (e.scope === 'username' && e.key === userKey) || (e.scope === 'ip' && e.key === address?.ipKey) || (e.scope === 'device' && e.key === device)),
      recentDecisions: decisions
    }
  })

  app.post('/admin/unblock', {
    schema: {
      body: Type.Object({
        username: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
        ip: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
        device: Type.Optional(Type.String({ minLength: 8, maxLength: 512 })),
        minutes: Type.Integer({ minimum: 1, maximum: 1440 }),
        reason: Type.String({ minLength: 3, maxLength: 200 })
      }, { additionalProperties: false })
    }
  }, async function unblock (request) {
    const { username, ip, device, minutes, reason } = request.body
    const scopes = [username, ip, device].filter(v => v !== undefined).length
    if (scopes !== 1) throw invalidRequest([{ field: 'username', reason: 'invalid_format', message: 'name exactly one of username, ip, device' }])
    const at = now()
    const until = at + minutes * 60_000
    const exemption = username !== undefined
      ? { scope: 'username' as const, key: guards.userKeyOf(username), label: maskUsername(username) }
      : ip !== undefined
        ? { scope: 'ip' as const, key: addressOf(ip).ipKey, label: addressOf(ip).ipKey }
        : { scope: 'device' as const, key: device ?? '', label: 'device' }
    await guards.exemptions.grant({ ...exemption, until, reason, grantedAt: at })
    request.log.warn({ scope: exemption.scope, subject: exemption.label, minutes }, 'scoped unblock granted')
    return { scope: exemption.scope, subject: exemption.label, until: new Date(until).toISOString() }
  })
}
