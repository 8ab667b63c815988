// The abuse-rules document: YAML 1.2 (or JSON, which YAML reads too), validated and compiled
// once, so that evaluating it on every login is plain data access. Everything wrong with a
// document is reported at once, each error naming the rule and the field.
//
//   rules:
//     - id: block-declared-bots        # [a-z0-9-]{1,64}, unique
//       description: Crawlers and HTTP libraries that say what they are
//       when:                          # every listed condition must hold (AND)
//         ua.bot: true
//       action: block                  # allow | block | challenge | step-up
//                                      # | {limit: {<limit name>: <budget>}} | {tag: <name>}
//       mode: enforce                  # enforce (default) | shadow | canary
//       canaryPercent: 10              # 1..99, with mode: canary only
//       expires: 2026-12-31T00:00:00Z  # optional: from then on the rule never matches
//
// Condition fields (the operand forms are in conditions below and in rules/README.md):
//   ip {cidr: [..]} | {notCidr: [..]}      ua, userAgent {matches: re} | {notMatches: re}
//   ua.bot, ua.missing, ua.malformed, ua.browser, honeypot, trustedDevice: true | false
//   anomalies {includes: name} | {includesAny: [..]}
//   header.<lower-case name> {present: b} | {absent: b} | {equals: s} | {matches: re} | {notMatches: re}
//   path, method {equals: s} | {in: [..]}
//   velocity.<usernamesPerIp|usernamesPerDevice|failureRatioPerIp|attemptsPerIp|attemptsPerUsername>
//     {gt|gte|lt|lte|eq: number}, several at once all hold
//   any: [<condition map>, ..]             OR over maps, nested at most MAX_ANY_DEPTH deep
// Regexes are case-insensitive, at most 512 characters, and refused when safe-regex2 finds them
// open to catastrophic backtracking: they run on attacker-chosen text on every login.
import { type Static, Type } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import { LineCounter, parseDocument } from 'yaml'
import { LIMIT_NAMES, type LimitName } from '../limits/limit-policy.js'
import { type RuleAction, type RuleMode } from './features.js'
import { type Condition, conditionsOf, isMap, type Problem, shown } from './rule-engine.js'

export interface CompiledRule {
  id: string
  description: string
  when: Condition[]
  action: RuleAction
  mode: RuleMode
  /** Share of matching requests a canary rule is enforced on; 100 unless mode is canary. */
  canaryPercent: number
  /** As written, for display. */
  expires?: string
  /** Epoch ms from which the rule never matches. */
  expiresAt?: number
}

/** In file order: the order of evaluation. */
export type CompiledRules = readonly CompiledRule[]

export interface RuleError {
  ruleId?: string
  /** 0-based position in `rules` (formatRuleErrors shows it 1-based, as #n). */
  index?: number
  /** Path inside the rule (`when.velocity.usernamesPerIp`), or the document key; '' for YAML syntax. */
  field: string
  message: string
}

export type ParsedRules = { ok: true, rules: CompiledRules } | { ok: false, errors: RuleError[] }

const MAX_SOURCE_CHARS = 1_000_000
const MAX_RULES = 1000
const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$'
const ISO = new RegExp(ISO_TIME)
const ID = '^[a-z0-9-]{1,64}$'
const ID_RE = new RegExp(ID)
const TAG = /^[a-z0-9][a-z0-9_-]{0,63}$/
const TERMINAL = ['allow', 'block', 'challenge', 'step-up'] as const

// The rule's envelope; `when` and `action` have their own, more helpful checks below.
const RuleShape = Type.Object({
  id: Type.String({ pattern: ID }),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  when: Type.Unknown(),
  action: Type.Unknown(),
  mode: Type.Optional(Type.Union([Type.Literal('enforce'), Type.Literal('shadow'), Type.Literal('canary')])),
  canaryPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 99 })),
  expires: Type.Optional(Type.String({ pattern: ISO_TIME }))
}, { additionalProperties: false })
type RuleFields = Static<typeof RuleShape>

const EXPECTED: Record<keyof RuleFields, string> = {
  id: 'expected an id of 1 to 64 characters from a-z, 0-9 and -',
  description: 'expected a text of at most 500 characters',
  when: 'expected a map of conditions such as {ua.bot: true}',
  action: `expected one of ${TERMINAL.join(', ')}, {limit: {<limit name>: <budget>}} or {tag: <name>}`,
  mode: 'expected one of enforce, shadow, canary',
  canaryPercent: 'expected an integer from 1 to 99',
  expires: 'expected an ISO 8601 time such as 2026-12-31T00:00:00Z'
}
const RULE_KEYS = Object.keys(RuleShape.properties)

const validateShape = new Ajv({ allErrors: true }).compile<RuleFields>(RuleShape)

/** Parses, validates and compiles a rules document; never throws. */
export function parseRules (text: string): ParsedRules {
  if (text.length > MAX_SOURCE_CHARS) return fail({ field: '', message: `the document has ${text.length} characters; at most ${MAX_SOURCE_CHARS} are allowed` })
  const lines = new LineCounter()
  const doc = parseDocument(text, { version: '1.2', uniqueKeys: true, prettyErrors: false, lineCounter: lines })
  // Warnings too (an unknown !tag, say): a rules file should mean exactly what it says.
  const syntax = [...doc.errors, ...doc.warnings]
  if (syntax.length > 0) {
    return {
      ok: false,
      errors: syntax.map(e => {
        const { line, col } = lines.linePos(e.pos[0])
        return { field: '', message: `invalid YAML at line ${line}, column ${col}: ${e.message}` }
      })
    }
  }
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    return fail({ field: '', message: `invalid YAML: ${(err as Error).message}` })
  }
  return compileDocument(data)
}

function compileDocument (data: unknown): ParsedRules {
  if (!isMap(data)) return fail({ field: '', message: `expected a document with a rules list (rules: [...]), got ${shown(data)}` })
  const errors: RuleError[] = Object.keys(data).filter(k => k !== 'rules')
    .map(k => ({ field: k, message: `unknown field "${k}" (the document has only: rules)` }))
  const list = data.rules
  if (!Array.isArray(list)) return fail(...errors, { field: 'rules', message: `expected a list of rules, got ${shown(list)}` })
  if (list.length > MAX_RULES) return fail(...errors, { field: 'rules', message: `${list.length} rules; at most ${MAX_RULES} are allowed` })
  const rules: CompiledRule[] = []
  const firstIndex = new Map<string, number>()
  list.forEach((item: unknown, index) => {
    const problems: Problem[] = []
    const rule = compileRule(item, problems)
    const ruleId = isMap(item) && typeof item.id === 'string' && ID_RE.test(item.id) ? item.id : undefined
    if (ruleId !== undefined) {
      const first = firstIndex.get(ruleId)
      if (first === undefined) firstIndex.set(ruleId, index)
      else problems.push({ field: 'id', message: `duplicate id: rule #${first + 1} already uses "${ruleId}"` })
    }
    errors.push(...problems.map(p => ({ ...(ruleId === undefined ? {} : { ruleId }), index, ...p })))
    if (rule !== undefined) rules.push(rule)
  })
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules }
}

function compileRule (item: unknown, problems: Problem[]): CompiledRule | undefined {
  if (!isMap(item)) {
    problems.push({ field: '', message: `expected a rule (a map with id, when and action), got ${shown(item)}` })
    return undefined
  }
  if (!validateShape(item)) {
    // A union reports each failed branch: one message per field is enough.
    const seen = new Set<string>()
    for (const e of validateShape.errors ?? []) {
      const at = `${e.instancePath}:${e.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : ''}`
      if (seen.has(at)) continue
      seen.add(at)
      if (e.keyword === 'additionalProperties') {
        const key = String(e.params.additionalProperty)
        problems.push({ field: key, message: `unknown field "${key}" (allowed: ${RULE_KEYS.join(', ')})` })
      } else if (e.keyword === 'required') {
        problems.push({ field: String(e.params.missingProperty), message: `is required: ${EXPECTED[e.params.missingProperty as keyof RuleFields]}` })
      } else {
        const key = e.instancePath.split('/')[1] as keyof RuleFields
        problems.push({ field: key, message: `${EXPECTED[key]}, got ${shown(item[key])}` })
      }
    }
  }
  const when = 'when' in item ? conditionsOf(item.when, 'when', 0, problems) : []
  const action = 'action' in item ? actionOf(item.action, problems) : undefined
  const mode = (item.mode ?? 'enforce') as RuleMode
  if (mode === 'canary' && item.canaryPercent === undefined) {
    problems.push({ field: 'canaryPercent', message: 'is required with mode: canary: the share of matching requests (1 to 99) the rule is enforced on' })
  }
  if (mode !== 'canary' && item.canaryPercent !== undefined) {
    problems.push({ field: 'canaryPercent', message: `only applies with mode: canary (this rule's mode is ${String(item.mode ?? 'enforce')})` })
  }
  const expiresAt = typeof item.expires === 'string' && ISO.test(item.expires) ? Date.parse(item.expires) : undefined
  if (expiresAt !== undefined && Number.isNaN(expiresAt)) problems.push({ field: 'expires', message: `${EXPECTED.expires}, got ${shown(item.expires)} (no such date)` })
  if (problems.length > 0 || action === undefined) return undefined
  const rule = item as RuleFields
  return {
    id: rule.id,
    description: rule.description ?? '',
    when,
    action,
    mode,
    canaryPercent: mode === 'canary' ? rule.canaryPercent ?? 100 : 100,
    ...(rule.expires === undefined ? {} : { expires: rule.expires, expiresAt })
  }
}

function actionOf (value: unknown, problems: Problem[]): RuleAction | undefined {
  if (typeof value === 'string' && (TERMINAL as readonly string[]).includes(value)) return { kind: value as typeof TERMINAL[number] }
  const keys = isMap(value) ? Object.keys(value) : []
  if (!isMap(value) || keys.length !== 1 || !(keys[0] === 'limit' || keys[0] === 'tag')) {
    problems.push({ field: 'action', message: `${EXPECTED.action}, got ${shown(value)}` })
    return undefined
  }
  if ('tag' in value) {
    if (typeof value.tag === 'string' && TAG.test(value.tag)) return { kind: 'tag', tag: value.tag }
    problems.push({ field: 'action.tag', message: `expected a tag of 1 to 64 characters from a-z, 0-9, _ and -, got ${shown(value.tag)}` })
    return undefined
  }
  return limitOf(value.limit, problems)
}

function limitOf (value: unknown, problems: Problem[]): RuleAction | undefined {
  if (!isMap(value) || Object.keys(value).length === 0) {
    problems.push({ field: 'action.limit', message: `expected budgets by limit name such as {ip_attempts: 5}, got ${shown(value)}` })
    return undefined
  }
  const budgets: Partial<Record<LimitName, number>> = {}
  const before = problems.length
  for (const [name, budget] of Object.entries(value)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(name)) {
      problems.push({ field: `action.limit.${name}`, message: `unknown limit "${name}" (allowed: ${LIMIT_NAMES.join(', ')})` })
    } else if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1) {
      problems.push({ field: `action.limit.${name}`, message: `expected a budget that is a positive integer, got ${shown(budget)}` })
    } else budgets[name as LimitName] = budget
  }
  return problems.length === before ? { kind: 'limit', budgets } : undefined
}

/** One line per error: `rule "id" (#2) when.velocity.usernamesPerIp: expected ...`. */
export function formatRuleErrors (errors: readonly RuleError[]): string {
  return errors.map(e => {
    const rule = e.index === undefined ? '' : e.ruleId === undefined ? `rule #${e.index + 1} ` : `rule "${e.ruleId}" (#${e.index + 1}) `
    return `${rule}${e.field === '' ? '' : `${e.field}: `}${e.message}`
  }).join('\n')
}

function fail (...errors: RuleError[]): ParsedRules {
  return { ok: false, errors }
}
