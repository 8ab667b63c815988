import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { replayCommand } from '../../src/rules/replay-cli.js'
import { parseDecisionLine, replay, type ReplayRecord } from '../../src/rules/replay.js'
import { canaryDraw } from '../../src/rules/rule-engine.js'
import { type CompiledRules, formatRuleErrors, parseRules } from '../../src/rules/rules-file.js'

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const LOG = fixture('decisions.ndjson')
const CANDIDATE = fixture('rules/candidate.yaml')
const INVALID = fixture('rules/invalid-candidate.yaml')

function candidate (): CompiledRules {
  const parsed = parseRules(readFileSync(CANDIDATE, 'utf8'))
  if (!parsed.ok) throw new Error(formatRuleErrors(parsed.errors))
  return parsed.rules
}

function records (): ReplayRecord[] {
  return readFileSync(LOG, 'utf8').split('\n').map(parseDecisionLine).filter(r => r !== undefined)
}

async function run (...args: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await replayCommand(args, { out: text => { out += text }, err: text => { err += text } })
  return { code, out, err }
}

// The fixture log, request by request, under the candidate rules (in file order: tag-no-lang,
// tighter-failing, office-allow until 12:00, block-bots, stuffing, spray-step-up in shadow,
// no-ua-canary at 50%):
//   req-01 browser, nothing                          none → none
//   req-02 Googlebot, no Accept-Language             block (old-bots) → block (block-bots)
//   req-03 curl                                      none → block, invalid_credentials
//   req-04 python-requests, logged in                none → block: block-bots' false positive
//   req-05 40 usernames, 95% failing, no A-L         none → challenge (stuffing), after tag and limit
//   req-06 25 usernames, 60% failing, logged in      challenge → challenge: stuffing's false positive, after the limit
//   req-07 8 usernames on a device, otp_required     none → none, spray-step-up shadow (its shadow FP)
//   req-08 curl from the office at 10:30             none → allow (office-allow); block-bots never reached
//   req-09 curl from the office at 13:00 (expired)   none → block (block-bots)
//   req-10 no user agent, draw 87: shadow, logged in none → none (no-ua-canary shadow FP)
//   req-11 no user agent, draw 38: enforced          challenge → challenge (no-ua-canary)
//   req-12 browser, trusted device                   block (old-overbroad) → none
// Lines 6 (not JSON) and 12 (no features) are unparseable; line 10 is blank.
describe('replay', () => {
  it('counts per rule what it would do to the recorded traffic, exactly', () => {
    expect(canaryDraw('req-10', 'no-ua-canary')).toBe(87)
    expect(canaryDraw('req-11', 'no-ua-canary')).toBe(38)
    const report = replay(records(), candidate())
    expect(report.decisions).toBe(12)
    const zero = { matches: 0, wouldBlock: 0, wouldChallenge: 0, wouldStepUp: 0, shadowMatches: 0, likelyFalsePositives: 0, shadowFalsePositives: 0 }
    expect(report.rules).toEqual([
      { ...zero, id: 'tag-no-lang', mode: 'enforce', action: 'tag no-accept-language', matches: 8 },
      { ...zero, id: 'tighter-failing', mode: 'enforce', action: 'limit ip_attempts=10', matches: 2 },
      { ...zero, id: 'office-allow', mode: 'enforce', action: 'allow', matches: 1 },
      { ...zero, id: 'block-bots', mode: 'enforce', action: 'block', matches: 4, wouldBlock: 4, likelyFalsePositives: 1 },
      { ...zero, id: 'stuffing', mode: 'enforce', action: 'challenge', matches: 2, wouldChallenge: 2, likelyFalsePositives: 1 },
      { ...zero, id: 'spray-step-up', mode: 'shadow', action: 'step-up', matches: 1, shadowMatches: 1, shadowFalsePositives: 1 },
      { ...zero, id: 'no-ua-canary', mode: 'canary', action: 'challenge', matches: 2, wouldChallenge: 1, shadowMatches: 1, shadowFalsePositives: 1 }
    ])
    expect(report.actions).toEqual({
      before: { none: 8, allow: 0, block: 2, challenge: 2, 'step-up': 0 },
      after: { none: 4, allow: 1, block: 4, challenge: 3, 'step-up': 0 }
    })
  })

  it('lists the decisions whose terminal action changes, with the rules before and after', () => {
    const { changed } = replay(records(), candidate())
    expect(changed.map(c => [c.requestId, c.before, c.after, c.outcome])).toEqual([
      ['req-03', { action: 'none' }, { action: 'block', ruleId: 'block-bots' }, 'invalid_credentials'],
      ['req-04', { action: 'none' }, { action: 'block', ruleId: 'block-bots' }, 'authenticated'],
      ['req-05', { action: 'none' }, { action: 'challenge', ruleId: 'stuffing' }, 'invalid_credentials'],
      ['req-08', { action: 'none' }, { action: 'allow', ruleId: 'office-allow' }, 'authenticated'],
      ['req-09', { action: 'none' }, { action: 'block', ruleId: 'block-bots' }, 'invalid_credentials'],
      ['req-12', { action: 'block', ruleId: 'old-overbroad' }, { action: 'none' }, 'authenticated']
    ])
  })

  it('judges expiry at the time of each request, not at the time of the replay', () => {
    const office = records().filter(r => r.features.ip.startsWith('203.0.113.'))
    expect(replay(office, candidate()).changed.map(c => c.after.ruleId)).toEqual(['office-allow', 'block-bots'])
  })

  it('changes nothing when replaying a log under rules that decide the same', () => {
    const quiet = parseRules('rules:\n  - { id: never, when: { path: { equals: /nowhere } }, action: block }\n')
    if (!quiet.ok) throw new Error('invalid')
    const same = records().filter(r => r.verdict.action === 'none')
    expect(replay(same, quiet.rules)).toMatchObject({ decisions: 8, changed: [], rules: [{ id: 'never', matches: 0 }] })
  })
})

describe('parseDecisionLine', () => {
  it('reads a logged decision and refuses what is not one', () => {
    const [line] = readFileSync(LOG, 'utf8').split('\n')
    expect(parseDecisionLine(line ?? '')).toMatchObject({ requestId: 'req-01', outcome: 'authenticated', verdict: { action: 'none' } })
    expect(parseDecisionLine('not json')).toBeUndefined()
    expect(parseDecisionLine('{"requestId":"x","time":"2026-03-01T00:00:00Z","outcome":"authenticated"}')).toBeUndefined()
    const record = JSON.parse(line ?? '') as Record<string, unknown>
    expect(parseDecisionLine(JSON.stringify({ ...record, time: 'yesterday' }))).toBeUndefined()
    expect(parseDecisionLine(JSON.stringify({ ...record, verdict: { action: 'maybe' } }))).toBeUndefined()
  })
})

describe('the replay command', () => {
  it('prints a table per rule, the unparseable lines it skipped, and the changed decisions', async () => {
    const { code, out, err } = await run('--log', LOG, '--rules', CANDIDATE)
    expect({ code, err }).toEqual({ code: 0, err: '' })
    expect(out).toMatch(/^replayed 12 decisions from .*decisions\.ndjson under .*candidate\.yaml \(version [0-9a-f]{12}\)$/m)
    expect(out).toContain('skipped 2 unparseable lines (first: 6, 12)')
    expect(out).toMatch(/^block-bots\s+enforce\s+block\s+4\s+4\s+0\s+0\s+0\s+1\s+0$/m)
    expect(out).toMatch(/^no-ua-canary\s+canary\s+challenge\s+2\s+0\s+1\s+0\s+1\s+0\s+1$/m)
    expect(out).toContain('6 decisions change:')
    expect(out).toMatch(/^\s+req-12\s+\S+\s+block \(old-overbroad\)\s+none\s+authenticated$/m)
  })

  it('prints the whole report as JSON with --json', async () => {
    const { code, out } = await run('--log', LOG, '--rules', CANDIDATE, '--json')
    expect(code).toBe(0)
    const report = JSON.parse(out) as { decisions: number, skipped: { count: number }, changed: unknown[], rulesVersion: string }
    expect(report).toMatchObject({ decisions: 12, skipped: { count: 2, firstLines: [6, 12] } })
    expect(report.changed).toHaveLength(6)
  })

  it('refuses an invalid rules file with exit code 2, naming each rule and field', async () => {
    const { code, out, err } = await run('--log', LOG, '--rules', INVALID)
    expect({ code, out }).toEqual({ code: 2, out: '' })
    expect(err.split('\n').slice(1)).toEqual([
      'rule "scripted-clients" (#1) when.userAgent: regular expression "(a+)+$" is refused as unsafe by safe-regex2 (catastrophic backtracking: nested or too many repetitions, or a construct it cannot check)',
      'rule "office" (#2) colour: unknown field "colour" (allowed: id, description, when, action, mode, canaryPercent, expires)',
      'rule "office" (#2) when.ip: "10.0.0.0/33" is not an IP address or CIDR such as 10.0.0.0/8 or 2001:db8::/32'
    ])
  })

  it('answers a missing argument or an unreadable log with usage and exit code 1', async () => {
    expect(await run('--log', LOG)).toMatchObject({ code: 1, err: expect.stringMatching(/^usage: npm run rules:replay/) })
    expect(await run('--log', fixture('missing.ndjson'), '--rules', CANDIDATE)).toMatchObject({ code: 1, err: expect.stringMatching(/cannot read the decision log: ENOENT/) })
  })

  it('sets the exit code and writes to stderr when run as a program', async () => {
    const cli = fileURLToPath(new URL('../../src/rules/replay-cli.ts', import.meta.url))
    const failure = await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, '--log', LOG, '--rules', INVALID]).then(() => undefined, (e: unknown) => e)
    expect(failure).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('rule "office" (#2) colour: unknown field') })
  })
})

describe('replay of early refusals', () => {
  const rulesOf = (text: string) => {
    const parsed = parseRules(text)
    if (!parsed.ok) throw new Error(formatRuleErrors(parsed.errors))
    return parsed.rules
  }
  const early = (): ReplayRecord => {
    const base = records()[0] as ReplayRecord
    return { ...base, requestId: 'early-1', unknown: ['velocity.usernamesPerIp', 'honeypot'], verdict: { action: 'challenge', ruleId: 'old', enforced: ['old'], shadowed: [], budgets: {}, tags: [] } }
  }

  it('judges on what was known then, and keeps the recorded verdict when a rule needs what was not', () => {
    const byUa = replay([early()], rulesOf('rules:\n  - { id: ua, when: { ua.browser: true }, action: block }\n'))
    expect(byUa).toMatchObject({ undecided: 0, actions: { after: { block: 1 } } })
    const byVelocity = replay([early()], rulesOf('rules:\n  - { id: v, when: { velocity.usernamesPerIp: { gt: 3 } }, action: block }\n'))
    expect(byVelocity).toMatchObject({ undecided: 1, actions: { after: { challenge: 1 } }, changed: [] })
    // Recorded as zero but unknown: a rule on "few usernames" must not be judged true.
    const byFew = replay([early()], rulesOf('rules:\n  - { id: few, when: { velocity.usernamesPerIp: { lt: 1 } }, action: block }\n'))
    expect(byFew.undecided).toBe(1)
  })
})
