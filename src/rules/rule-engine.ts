// The condition language and the evaluation of abuse rules. A condition is compiled once, when
// its document is parsed (rules-file.ts), into plain data with its regexes and CIDRs ready, and
// its matching sits next to its compiling so the two cannot drift. evaluateRules runs on every
// login: no I/O, no parsing, a few comparisons per rule.
import { createHash } from 'node:crypto'
import ipaddr from 'ipaddr.js'
import safeRegex from 'safe-regex2'
import { KEPT_HEADERS } from '../bots/signals.js'
import { type LimitName } from '../limits/limit-policy.js'
import { type RequestFeatures, type RuleAction, type RuleMode, type RulesVerdict } from './features.js'
import type { CompiledRules } from './rules-file.js'

type Flag = 'bot' | 'missing' | 'malformed' | 'browser' | 'honeypot' | 'trustedDevice'
export type VelocityField = keyof RequestFeatures['velocity']
type Comparison = 'gt' | 'gte' | 'lt' | 'lte' | 'eq'
type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

export type Condition =
  | { kind: 'ip', ranges: Range[], negate: boolean }
  | { kind: 'ua', re: RegExp, negate: boolean }
  | { kind: 'flag', flag: Flag, value: boolean }
  | { kind: 'anomalies', names: string[] }
  | { kind: 'header', name: string, present: boolean }
  | { kind: 'headerEquals', name: string, value: string }
  /** notMatches also holds when the header is absent. */
  | { kind: 'headerMatches', name: string, re: RegExp, negate: boolean }
  | { kind: 'text', field: 'path' | 'method', values: string[] }
  | { kind: 'velocity', field: VelocityField, tests: Array<[Comparison, number]> }
  /** OR over condition maps, each an AND. */
  | { kind: 'any', of: Condition[][] }

export interface Problem {
  field: string
  message: string
}

const MAX_ANY_DEPTH = 3
const MAX_LIST = 1000
const MAX_REGEX_CHARS = 512
// A Map, not an object literal: a condition named "constructor" must not find Object's.
const FLAGS = new Map<string, Flag>([['ua.bot', 'bot'], ['ua.missing', 'missing'], ['ua.malformed', 'malformed'], ['ua.browser', 'browser'], ['honeypot', 'honeypot'], ['trustedDevice', 'trustedDevice']])
export const VELOCITY_FIELDS: readonly VelocityField[] = [
  'usernamesPerIp', 'usernamesPerDevice', 'failureRatioPerIp', 'attemptsPerIp', 'attemptsPerUsername',
  'usernamesPerSubnet', 'failureRatioPerSubnet', 'attemptsPerSubnet', 'globalAttempts', 'globalFailureRatio'
]
const COMPARISONS: readonly Comparison[] = ['gt', 'gte', 'lt', 'lte', 'eq']
const FIELDS = `ip, ua, userAgent, ${[...FLAGS.keys()].join(', ')}, anomalies, header.<lower-case name>, path, method, velocity.<${VELOCITY_FIELDS.join('|')}>, any`
const NAME = /^[a-z0-9_]{1,64}$/
const HEADER = /^[a-z0-9-]{1,64}$/

/** Compiles a condition map (`when`, or one map of an `any`), reporting problems by field path. */
export function conditionsOf (when: unknown, path: string, depth: number, problems: Problem[]): Condition[] {
  if (!isMap(when) || Object.keys(when).length === 0) {
    problems.push({ field: path, message: `expected a map of conditions such as {ua.bot: true}, got ${shown(when)}` })
    return []
  }
  const conditions: Condition[] = []
  for (const [key, operand] of Object.entries(when)) {
    const field = `${path}.${key}`
    const compiled = conditionOf(key, operand, field, depth, problems)
    if (typeof compiled === 'string') problems.push({ field, message: compiled })
    else if (compiled !== undefined) conditions.push(compiled)
  }
  return conditions
}

// A condition, or what is wrong with it (undefined: already reported deeper down).
function conditionOf (key: string, operand: unknown, field: string, depth: number, problems: Problem[]): Condition | string | undefined {
  const flag = FLAGS.get(key)
  if (flag !== undefined) return typeof operand === 'boolean' ? { kind: 'flag', flag, value: operand } : `expected true or false, got ${shown(operand)}`
  if (key === 'any') return anyOf(operand, field, depth, problems)
  if (key === 'ip') return ipOf(operand)
  if (key === 'ua' || key === 'userAgent') {
    const o = operatorOf(operand, ['matches', 'notMatches'], '{matches: <regex>}')
    if (typeof o === 'string') return key === 'ua' ? `${o}; for the user-agent flags write ua.bot: true and the like` : o
    const re = regexOf(o.value)
    return typeof re === 'string' ? re : { kind: 'ua', re, negate: o.op === 'notMatches' }
  }
  if (key === 'anomalies') {
    const o = operatorOf(operand, ['includes', 'includesAny'], '{includes: <anomaly>}')
    if (typeof o === 'string') return o
    const names = o.op === 'includes' ? [o.value] : o.value
    return stringsOk(names, NAME) ? { kind: 'anomalies', names } : `expected anomaly names such as missing_accept_language, got ${shown(o.value)}`
  }
  if (key === 'path' || key === 'method') {
    const o = operatorOf(operand, ['equals', 'in'], '{equals: <text>}')
    if (typeof o === 'string') return o
    const values = o.op === 'equals' ? [o.value] : o.value
    if (!stringsOk(values, /^.{1,512}$/)) return `expected ${o.op === 'in' ? 'a list of texts' : 'a text'}, got ${shown(o.value)}`
    return { kind: 'text', field: key, values: key === 'method' ? values.map(v => v.toUpperCase()) : values }
  }
  if (key.startsWith('header.')) return headerOf(key.slice('header.'.length), operand)
  if (key.startsWith('velocity.')) return velocityOf(key.slice('velocity.'.length), operand)
  return `unknown condition field "${key}" (allowed: ${FIELDS})`
}

function anyOf (operand: unknown, field: string, depth: number, problems: Problem[]): Condition | string | undefined {
  if (depth + 1 > MAX_ANY_DEPTH) return `any is nested more than ${MAX_ANY_DEPTH} deep; split the rule instead`
  if (!Array.isArray(operand) || operand.length === 0 || operand.length > 20) return `expected a list of 1 to 20 condition maps, got ${shown(operand)}`
  const before = problems.length
  const of = operand.map((map: unknown, i) => conditionsOf(map, `${field}[${i}]`, depth + 1, problems))
  return problems.length === before ? { kind: 'any', of } : undefined
}

function ipOf (operand: unknown): Condition | string {
  const o = operatorOf(operand, ['cidr', 'notCidr'], '{cidr: [<CIDR>, ...]}')
  if (typeof o === 'string') return o
  if (!Array.isArray(o.value) || o.value.length === 0 || o.value.length > MAX_LIST) return `expected a list of 1 to ${MAX_LIST} addresses or CIDRs, got ${shown(o.value)}`
  const ranges = o.value.map((entry: unknown) => typeof entry === 'string' ? rangeOf(entry) : undefined)
  const bad = o.value.filter((_, i) => ranges[i] === undefined).map(shown)
  if (bad.length > 0) return `${bad.join(', ')} ${bad.length === 1 ? 'is not an IP address or CIDR' : 'are not IP addresses or CIDRs'} such as 10.0.0.0/8 or 2001:db8::/32`
  return { kind: 'ip', ranges: ranges.filter(r => r !== undefined), negate: o.op === 'notCidr' }
}

function rangeOf (entry: string): Range | undefined {
  const [address = '', bits, ...rest] = entry.split('/')
  // ipaddr.js also reads 127.1 and 0x7f.0.0.1 (inet_aton forms): a rules file should not.
  if (rest.length > 0 || address.includes('%') || !ipaddr.isValid(address)) return undefined
  if (!address.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(address)) return undefined
  const parsed = ipaddr.parse(address)
  const max = parsed.kind() === 'ipv4' ? 32 : 128
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
  if (!(prefix <= max)) return undefined
  // Clients are matched as ipaddr.process() folds them: ::ffff:1.2.3.4 as 1.2.3.4.
  if (parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress() && prefix >= 96) return [parsed.toIPv4Address(), prefix - 96]
  return [parsed, prefix]
}

function headerOf (name: string, operand: unknown): Condition | string {
  if (!HEADER.test(name)) return `expected a lower-case header name such as header.accept-language, got "header.${name}"`
  // Only these reach the rules: any other name would always read as absent.
  if (!KEPT_HEADERS.includes(name)) return `header "${name}" is not one the rules see (allowed: ${KEPT_HEADERS.join(', ')})`
  const o = operatorOf(operand, ['present', 'absent', 'equals', 'matches', 'notMatches'], '{present: true}')
  if (typeof o === 'string') return o
  if (o.op === 'present' || o.op === 'absent') {
    return typeof o.value === 'boolean' ? { kind: 'header', name, present: o.value === (o.op === 'present') } : `expected ${o.op}: true or false, got ${shown(o.value)}`
  }
  if (o.op === 'equals') return typeof o.value === 'string' ? { kind: 'headerEquals', name, value: o.value } : `expected equals: <text>, got ${shown(o.value)}`
  const re = regexOf(o.value)
  return typeof re === 'string' ? re : { kind: 'headerMatches', name, re, negate: o.op === 'notMatches' }
}

function velocityOf (name: string, operand: unknown): Condition | string {
  const field = VELOCITY_FIELDS.find(v => v === name)
  if (field === undefined) return `unknown velocity signal "${name}" (allowed: ${VELOCITY_FIELDS.join(', ')})`
  const expected = `expected a number comparison such as {gt: 20}, got ${shown(operand)}`
  if (!isMap(operand) || Object.keys(operand).length === 0) return expected
  const tests: Array<[Comparison, number]> = []
  for (const [op, value] of Object.entries(operand)) {
    const comparison = COMPARISONS.find(c => c === op)
    if (comparison === undefined) return `unknown operator "${op}" (allowed: ${COMPARISONS.join(', ')})`
    if (typeof value !== 'number' || !Number.isFinite(value)) return expected
    tests.push([comparison, value])
  }
  return { kind: 'velocity', field, tests }
}

function operatorOf (operand: unknown, allowed: readonly string[], example: string): { op: string, value: unknown } | string {
  if (!isMap(operand) || Object.keys(operand).length !== 1) return `expected one of ${allowed.join(', ')}, such as ${example}, got ${shown(operand)}`
  const [op = '', value] = Object.entries(operand)[0] ?? []
  return allowed.includes(op) ? { op, value } : `unknown operator "${op}" (allowed: ${allowed.join(', ')})`
}

// Rule regexes run on attacker-chosen text on every login: refuse what could backtrack for ever.
function regexOf (source: unknown): RegExp | string {
  if (typeof source !== 'string' || source === '' || source.length > MAX_REGEX_CHARS) return `expected a regular expression of 1 to ${MAX_REGEX_CHARS} characters, got ${shown(source)}`
  let re: RegExp
  try {
    re = new RegExp(source, 'i')
  } catch (err) {
    return `invalid regular expression ${shown(source)}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`
  }
  if (!safeRegex(re)) return `regular expression ${shown(source)} is refused as unsafe by safe-regex2 (catastrophic backtracking: nested or too many repetitions, or a construct it cannot check)`
  return re
}

function stringsOk (value: unknown, pattern: RegExp): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.length <= MAX_LIST && value.every(v => typeof v === 'string' && pattern.test(v))
}

export interface EvaluationContext {
  now: number
  /** A draw in [0, 100) for a canary rule that matched; see canaryDraw. */
  draw: (ruleId: string) => number
}

/**
 * The verdict of the rules on one request, in file order: expired rules are skipped, shadow and
 * undrawn canary matches are only recorded, limit and tag actions accumulate, and the first
 * enforced allow, block, challenge or step-up decides and ends the evaluation.
 */
const GLOBAL_FIELDS = new Set<string>(['globalAttempts', 'globalFailureRatio'])

/** Whether a rule looks at the replica-wide signals (its refusals then stay in their window). */
export function usesGlobalSignals (conditions: readonly Condition[]): boolean {
  return conditions.some(c => (c.kind === 'velocity' && GLOBAL_FIELDS.has(c.field)) || (c.kind === 'any' && c.of.some(usesGlobalSignals)))
}

export function evaluateRules (rules: CompiledRules, features: RequestFeatures, ctx: EvaluationContext): RulesVerdict {
  return evaluate(rules, features, ctx) ?? NONE()
}

/**
 * Features before the counters are read: the velocity signals known so far (in process, or a
 * recent snapshot); before the body is read, the honeypot and the trusted device are unknown too.
 */
export type EarlyFeatures = Omit<RequestFeatures, 'velocity' | 'honeypot' | 'trustedDevice'> & {
  velocity: Partial<RequestFeatures['velocity']>
  honeypot?: boolean
  trustedDevice?: boolean
}

/**
 * The rules' refusal of a request decided before any counter is read, or undefined when the
 * counters could change it. Conditions on unknown signals are neither true nor false; an unknown
 * enforced terminal rule leaves the verdict open unless it would refuse the same way. Shadow
 * rules on unknown signals go unrecorded: the request is refused before they can be known.
 */
export function decideEarly (rules: CompiledRules, features: EarlyFeatures, ctx: EvaluationContext): RulesVerdict | undefined {
  const verdict = evaluate(rules, features, ctx)
  return verdict !== undefined && (verdict.action === 'block' || verdict.action === 'challenge') ? verdict : undefined
}

/** The verdict on what is known, or undefined when a signal not known could change it (replay of early refusals). */
export function evaluateKnown (rules: CompiledRules, features: EarlyFeatures, ctx: EvaluationContext): RulesVerdict | undefined {
  return evaluate(rules, features, ctx)
}

const NONE = (): RulesVerdict => ({ action: 'none', enforced: [], shadowed: [], budgets: {}, tags: [] })

// Kleene logic: undefined is "cannot tell yet" (only for early features). Returns undefined when
// an unknown terminal rule could change the outcome.
function evaluate (rules: CompiledRules, features: EarlyFeatures, ctx: EvaluationContext): RulesVerdict | undefined {
  const verdict = NONE()
  const unknownTerminal = new Set<string>()
  for (const rule of rules) {
    if (rule.expiresAt !== undefined && ctx.now >= rule.expiresAt) continue
    const truth = allHold(rule.when, features)
    if (truth === false) continue
    // `!(draw < percent)`: a draw that is not a number never enforces.
    const recordOnly = rule.mode === 'shadow' || (rule.mode === 'canary' && !(ctx.draw(rule.id) < rule.canaryPercent))
    const action = rule.action
    const terminal = action.kind !== 'limit' && action.kind !== 'tag'
    if (truth === undefined) {
      if (!recordOnly && terminal) unknownTerminal.add(action.kind)
      continue
    }
    if (recordOnly) {
      verdict.shadowed.push(rule.id)
      continue
    }
    verdict.enforced.push(rule.id)
    if (action.kind === 'limit') {
      for (const [name, budget] of Object.entries(action.budgets) as Array<[LimitName, number]>) {
        verdict.budgets[name] = Math.min(verdict.budgets[name] ?? Infinity, budget)
      }
    } else if (action.kind === 'tag') {
      if (!verdict.tags.includes(action.tag)) verdict.tags.push(action.tag)
    } else {
      // An earlier rule that cannot be told yet would end it too, and maybe otherwise.
      if ([...unknownTerminal].some(kind => kind !== action.kind)) return undefined
      verdict.action = action.kind
      verdict.ruleId = rule.id
      return verdict
    }
  }
  return unknownTerminal.size === 0 ? verdict : undefined
}

function allHold (conditions: readonly Condition[], f: EarlyFeatures): boolean | undefined {
  let known = true
  for (const c of conditions) {
    const truth = holds(c, f)
    if (truth === false) return false
    if (truth === undefined) known = false
  }
  return known ? true : undefined
}

function holds (c: Condition, f: EarlyFeatures): boolean | undefined {
  switch (c.kind) {
    case 'ip': return inRanges(f.ip, c.ranges) !== c.negate
    case 'ua': return c.re.test(f.userAgent) !== c.negate
    case 'flag': {
      const value = flagOf(f, c.flag)
      return value === undefined ? undefined : value === c.value
    }
    case 'anomalies': return c.names.some(name => f.anomalies.includes(name))
    case 'header': return (header(f, c.name) !== undefined) === c.present
    case 'headerEquals': return header(f, c.name) === c.value
    case 'headerMatches': {
      const value = header(f, c.name)
      return (value !== undefined && c.re.test(value)) !== c.negate
    }
    case 'text': return c.values.includes(c.field === 'path' ? f.path : f.method.toUpperCase())
    case 'velocity': {
      const value = f.velocity[c.field]
      return value === undefined ? undefined : c.tests.every(([op, bound]) => compare(value, op, bound))
    }
    case 'any': {
      let known = true
      for (const map of c.of) {
        const truth = allHold(map, f)
        if (truth === true) return true
        if (truth === undefined) known = false
      }
      return known ? false : undefined
    }
  }
}

// Own properties only: header.constructor must not find Object.prototype's.
function header (f: EarlyFeatures, name: string): string | undefined {
  return Object.hasOwn(f.headers, name) ? f.headers[name] : undefined
}

function flagOf (f: EarlyFeatures, flag: Flag): boolean | undefined {
  return flag === 'honeypot' || flag === 'trustedDevice' ? f[flag] : f.ua[flag]
}

function compare (value: number, op: Comparison, bound: number): boolean {
  switch (op) {
    case 'gt': return value > bound
    case 'gte': return value >= bound
    case 'lt': return value < bound
    case 'lte': return value <= bound
    case 'eq': return value === bound
  }
}

// Rules with several ip conditions see the same address: parse it once. Invisible to callers.
let lastIp = ''
let lastAddress: ipaddr.IPv4 | ipaddr.IPv6 | null = null

function inRanges (ip: string, ranges: readonly Range[]): boolean {
  if (ip !== lastIp) {
    lastIp = ip
    lastAddress = ipaddr.isValid(ip) ? ipaddr.process(ip) : null
  }
  const address = lastAddress
  if (address === null) return false
  for (const [range, bits] of ranges) if (range.kind() === address.kind() && address.match(range, bits)) return true
  return false
}

/**
 * A stable draw in [0, 100) for a request and a rule. The live gateway and replay must use the
 * same one, so that a replay of canary rules enforces them on the same requests.
 */
export function canaryDraw (requestId: string, ruleId: string): number {
  return createHash('sha256').update(`${requestId}:${ruleId}`).digest().readUInt32BE(0) % 100
}

/** A short, stable hash of the rules document as written. */
export function rulesVersion (text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12)
}

export interface RuleSummary {
  id: string
  description: string
  /** e.g. `block`, `limit ip_attempts=5`, `tag scripted`. */
  action: string
  mode: RuleMode
  canaryPercent?: number
  expires?: string
}

export function ruleSummary (rules: CompiledRules): RuleSummary[] {
  return rules.map(r => ({
    id: r.id,
    description: r.description,
    action: describeAction(r.action),
    mode: r.mode,
    ...(r.mode === 'canary' ? { canaryPercent: r.canaryPercent } : {}),
    ...(r.expires === undefined ? {} : { expires: r.expires })
  }))
}

export function describeAction (action: RuleAction): string {
  if (action.kind === 'limit') return `limit ${Object.entries(action.budgets).map(([name, budget]) => `${name}=${budget}`).join(' ')}`
  if (action.kind === 'tag') return `tag ${action.tag}`
  return action.kind
}

/** A value as an error message shows it: JSON, shortened. */
export function shown (value: unknown): string {
  if (value === undefined) return 'nothing'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

export function isMap (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
