import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type CompiledRules, formatRuleErrors, parseRules, type RuleError } from '../../src/rules/rules-file.js'
import { ruleSummary } from '../../src/rules/rule-engine.js'

const DEFAULT_RULES = readFileSync(new URL('../../rules/default-rules.yaml', import.meta.url), 'utf8')

function rulesOf (text: string): CompiledRules {
  const parsed = parseRules(text)
  if (!parsed.ok) throw new Error(`expected valid rules:\n${formatRuleErrors(parsed.errors)}`)
  return parsed.rules
}

function errorsOf (text: string): RuleError[] {
  const parsed = parseRules(text)
  if (parsed.ok) throw new Error('expected the rules to be refused')
  return parsed.errors
}

// One rule whose `when` (a YAML flow map) and extra lines vary.
const rule = (when: string, extra = '') => `rules:\n  - id: r1\n    when: ${when}\n    action: block\n${extra}`

describe('parseRules', () => {
  it('accepts the documented example, in order, with enforce as the default mode', () => {
    const rules = rulesOf(`
rules:
  - id: block-declared-bots
    description: Crawlers and HTTP libraries that say what they are
    when:
      ua.bot: true
    action: block
    expires: 2026-12-31T00:00:00Z
  - id: stuffing-velocity
    when:
      velocity.usernamesPerIp: { gt: 20 }
      velocity.failureRatioPerIp: { gte: 0.8 }
    action: challenge
    mode: canary
    canaryPercent: 10
  - id: scripts
    when:
      any:
        - anomalies: { includes: missing_accept_language }
        - header.accept: { absent: true }
    action: { limit: { ip_attempts: 5 } }
`)
    expect(ruleSummary(rules)).toEqual([
      { id: 'block-declared-bots', description: 'Crawlers and HTTP libraries that say what they are', action: 'block', mode: 'enforce', expires: '2026-12-31T00:00:00Z' },
      { id: 'stuffing-velocity', description: '', action: 'challenge', mode: 'canary', canaryPercent: 10 },
      { id: 'scripts', description: '', action: 'limit ip_attempts=5', mode: 'enforce' }
    ])
    expect(rules[0]?.expiresAt).toBe(Date.UTC(2026, 11, 31))
    expect(rules[2]?.action).toEqual({ kind: 'limit', budgets: { ip_attempts: 5 } })
  })

  it('reads the same rules written as JSON', () => {
    const rules = rulesOf('{"rules": [{"id": "tagged", "when": {"honeypot": true}, "action": {"tag": "honeypot"}, "mode": "shadow"}]}')
    expect(rules).toMatchObject([{ id: 'tagged', mode: 'shadow', action: { kind: 'tag', tag: 'honeypot' } }])
  })

  it('accepts an empty rule list, which decides nothing', () => {
    expect(rulesOf('rules: []')).toEqual([])
  })

  it('parses the shipped default rules, each with a description', () => {
    const rules = rulesOf(DEFAULT_RULES)
    expect(rules.length).toBeGreaterThanOrEqual(8)
    for (const r of rules) expect(r.description, r.id).not.toBe('')
  })
})

describe('parseRules refuses invalid documents, naming the rule and the field', () => {
  it('refuses bad YAML with its line', () => {
    const errors = errorsOf('rules:\n  - id: a\n    when: { ua.bot: true\n    action: block\n')
    expect(errors[0]).toMatchObject({ field: '' })
    expect(errors[0]?.message).toMatch(/^invalid YAML at line \d+, column \d+: /)
  })

  it('refuses a duplicate key, which YAML would otherwise silently overwrite', () => {
    expect(errorsOf('rules:\n  - id: a\n    id: b\n    when: { honeypot: true }\n    action: block\n')[0]?.message).toMatch(/line 3.*unique/)
  })

  it('refuses unknown fields in the document, in a rule and in an operand', () => {
    expect(errorsOf('rules: []\nversion: 2\n')).toEqual([{ field: 'version', message: 'unknown field "version" (the document has only: rules)' }])
    expect(errorsOf(rule('{ honeypot: true }', '    colour: red\n'))).toEqual([
      { ruleId: 'r1', index: 0, field: 'colour', message: 'unknown field "colour" (allowed: id, description, when, action, mode, canaryPercent, expires)' }
    ])
    expect(errorsOf(rule('{ velocity.attemptsPerIp: { gt: 5, above: 9 } }'))).toEqual([
      { ruleId: 'r1', index: 0, field: 'when.velocity.attemptsPerIp', message: 'unknown operator "above" (allowed: gt, gte, lt, lte, eq)' }
    ])
  })

  it('refuses unknown condition fields, also inside any', () => {
    expect(errorsOf(rule('{ ua.bott: true }'))[0]).toMatchObject({ ruleId: 'r1', field: 'when.ua.bott', message: expect.stringMatching(/^unknown condition field "ua.bott"/) })
    expect(errorsOf(rule('{ any: [ { honeypot: true }, { velocity.speed: { gt: 1 } } ] }'))[0]).toMatchObject({ field: 'when.any[1].velocity.speed', message: expect.stringMatching(/unknown velocity signal "speed"/) })
    // Only kept headers reach the rules: any other name would always read as absent.
    expect(errorsOf(rule('{ header.constructor: { absent: true } }'))[0]).toMatchObject({ field: 'when.header.constructor', message: expect.stringMatching(/^header "constructor" is not one the rules see \(allowed: user-agent, /) })
    expect(errorsOf(rule('{ header.x-forwarded-for: { present: true } }'))[0]).toMatchObject({ field: 'when.header.x-forwarded-for' })
    expect(errorsOf(rule('{ constructor: true }'))[0]).toMatchObject({ field: 'when.constructor', message: expect.stringMatching(/^unknown condition field "constructor"/) })
    expect(errorsOf(rule('{ header.Accept: { present: true } }'))[0]).toMatchObject({ field: 'when.header.Accept', message: expect.stringMatching(/lower-case header name/) })
  })

  it('refuses bad CIDRs, and the inet_aton forms ipaddr.js would read', () => {
    const [error] = errorsOf(rule('{ ip: { cidr: [10.0.0.0/8, 10.0.0.0/33, "127.1", "fe80::1%eth0", "2001:db8::/129"] } }'))
    expect(error).toMatchObject({ ruleId: 'r1', field: 'when.ip' })
    expect(error?.message).toBe('"10.0.0.0/33", "127.1", "fe80::1%eth0", "2001:db8::/129" are not IP addresses or CIDRs such as 10.0.0.0/8 or 2001:db8::/32')
  })

  it('refuses invalid regexes', () => {
    expect(errorsOf(rule('{ ua: { matches: "curl/(" } }'))[0]).toMatchObject({ field: 'when.ua', message: expect.stringMatching(/^invalid regular expression "curl\/\(": .*Unterminated group/) })
  })

  it.each(['(a+)+$', '(x+x+)+y', '(.*a){30}'])('refuses the catastrophic regex %s', (source) => {
    expect(errorsOf(rule(`{ header.referer: { matches: '${source}' } }`))[0]).toMatchObject({ field: 'when.header.referer', message: expect.stringMatching(/refused as unsafe by safe-regex2/) })
  })

  it('refuses a duplicate id on the later rule', () => {
    const errors = errorsOf('rules:\n  - { id: dup, when: { honeypot: true }, action: block }\n  - { id: dup, when: { honeypot: true }, action: challenge }\n')
    expect(errors).toEqual([{ ruleId: 'dup', index: 1, field: 'id', message: 'duplicate id: rule #1 already uses "dup"' }])
  })

  it('refuses canary without canaryPercent, out of 1..99, or canaryPercent without canary', () => {
    expect(errorsOf(rule('{ honeypot: true }', '    mode: canary\n'))[0]).toMatchObject({ field: 'canaryPercent', message: expect.stringMatching(/^is required with mode: canary/) })
    expect(errorsOf(rule('{ honeypot: true }', '    mode: canary\n    canaryPercent: 100\n'))[0]).toMatchObject({ field: 'canaryPercent', message: 'expected an integer from 1 to 99, got 100' })
    expect(errorsOf(rule('{ honeypot: true }', '    canaryPercent: 10\n'))[0]).toMatchObject({ field: 'canaryPercent', message: expect.stringMatching(/only applies with mode: canary/) })
  })

  it('refuses an expiry that is not an ISO 8601 time', () => {
    expect(errorsOf(rule('{ honeypot: true }', '    expires: next week\n'))).toEqual([
      { ruleId: 'r1', index: 0, field: 'expires', message: 'expected an ISO 8601 time such as 2026-12-31T00:00:00Z, got "next week"' }
    ])
    expect(errorsOf(rule('{ honeypot: true }', '    expires: 2026-12-31\n'))[0]).toMatchObject({ field: 'expires' })
  })

  it('refuses a limit action naming an unknown limit or a budget that is not a positive integer', () => {
    const errors = errorsOf('rules:\n  - id: r1\n    when: { honeypot: true }\n    action: { limit: { ip_atempts: 5, ip_failures: 0, ip_attempts: 2.5 } }\n')
    expect(errors.map(e => e.field)).toEqual(['action.limit.ip_atempts', 'action.limit.ip_failures', 'action.limit.ip_attempts'])
    expect(errors[0]?.message).toMatch(/^unknown limit "ip_atempts" \(allowed: global_attempts, ip_attempts,/)
    expect(errors[1]?.message).toBe('expected a budget that is a positive integer, got 0')
  })

  it('refuses unknown actions, modes, ids and operand types', () => {
    const errors = errorsOf('rules:\n  - id: Not_Valid\n    when: { honeypot: yes, velocity.attemptsPerIp: many, ua: { bot: true } }\n    action: ban\n    mode: loud\n')
    expect(errors.map(e => [e.field, e.message])).toEqual([
      ['id', 'expected an id of 1 to 64 characters from a-z, 0-9 and -, got "Not_Valid"'],
      ['mode', 'expected one of enforce, shadow, canary, got "loud"'],
      ['when.honeypot', 'expected true or false, got "yes"'],
      ['when.velocity.attemptsPerIp', 'expected a number comparison such as {gt: 20}, got "many"'],
      ['when.ua', 'unknown operator "bot" (allowed: matches, notMatches); for the user-agent flags write ua.bot: true and the like'],
      ['action', 'expected one of allow, block, challenge, step-up, {limit: {<limit name>: <budget>}} or {tag: <name>}, got "ban"']
    ])
    expect(errors.every(e => e.ruleId === undefined && e.index === 0)).toBe(true)
  })

  it('refuses a rule without conditions, and any nested too deep', () => {
    expect(errorsOf(rule('{}'))[0]).toMatchObject({ field: 'when', message: 'expected a map of conditions such as {ua.bot: true}, got {}' })
    expect(errorsOf('rules:\n  - { id: r1, action: block }\n')[0]).toMatchObject({ field: 'when', message: expect.stringMatching(/^is required/) })
    const deep = '{ any: [ { any: [ { any: [ { any: [ { honeypot: true } ] } ] } ] } ] }'
    expect(errorsOf(rule(deep))[0]).toMatchObject({ field: 'when.any[0].any[0].any[0].any', message: expect.stringMatching(/nested more than 3 deep/) })
  })

  it('reports every error of every rule at once', () => {
    const errors = errorsOf('rules:\n  - { id: a, when: { honeypot: 1 }, action: block }\n  - { id: b, when: { honeypot: true }, action: nope }\n')
    expect(errors.map(e => `${e.ruleId ?? ''}/${e.field}`)).toEqual(['a/when.honeypot', 'b/action'])
  })
})

describe('formatRuleErrors', () => {
  it('writes one line per error, naming the rule, its position and the field', () => {
    const errors = errorsOf(`rules:
  - { id: block-declared-bots, when: { ua.bot: true }, action: block }
  - id: stuffing-velocity
    when:
      velocity.usernamesPerIp: 20
    action: challenge
  - { id: Bad!, when: { honeypot: true }, action: block }
`)
    expect(formatRuleErrors(errors).split('\n')).toEqual([
      'rule "stuffing-velocity" (#2) when.velocity.usernamesPerIp: expected a number comparison such as {gt: 20}, got 20',
      'rule #3 id: expected an id of 1 to 64 characters from a-z, 0-9 and -, got "Bad!"'
    ])
    expect(formatRuleErrors([{ field: '', message: 'invalid YAML at line 1, column 1: x' }])).toBe('invalid YAML at line 1, column 1: x')
  })
})
