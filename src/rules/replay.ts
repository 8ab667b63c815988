// Replay: re-evaluate recorded decisions under a candidate rule set, and count per rule what it
// would have done to that traffic, and which decisions change. This is how a security team
// learns what a rule costs before it is enforced. Pure: the CLI (replay-cli.ts) does the I/O.
import { type Static, Type } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import { NO_VELOCITY, type RequestFeatures, type RuleMode, type RulesVerdict } from './features.js'
import { canaryDraw, describeAction, evaluateKnown, evaluateRules, VELOCITY_FIELDS } from './rule-engine.js'
import { type CompiledRules } from './rules-file.js'

/** The fields of a decision-log line (DecisionRecord in decision-log.ts) that replay reads. */
export interface ReplayRecord {
  requestId: string
  /** The canary draw's seed; older logs have none and draw from the request id. */
  drawId?: string
  /** An early refusal's signals that were not known (see DecisionRecord.unknown). */
  unknown?: readonly string[]
  /** ISO 8601; replay judges expiry at this time. */
  time: string
  features: RequestFeatures
  verdict: RulesVerdict
  /** The login's eventual result: authenticated, otp_required, or a problem code. */
  outcome: string
}

export type Action = RulesVerdict['action']

export interface RuleReplayStats {
  id: string
  mode: RuleMode
  action: string
  /** Requests on which the rule was reached and matched, enforced or not. */
  matches: number
  wouldBlock: number
  wouldChallenge: number
  wouldStepUp: number
  shadowMatches: number
  /** Requests it would block, challenge or step up that went on to log in (authenticated, otp_required). */
  likelyFalsePositives: number
  /** The same among its shadow matches: what enforcing it would cost. */
  shadowFalsePositives: number
}

export interface ChangedDecision {
  requestId: string
  time: string
  outcome: string
  before: { action: Action, ruleId?: string }
  after: { action: Action, ruleId?: string }
}

export interface ReplayReport {
  decisions: number
  /** In file order. */
  rules: RuleReplayStats[]
  /** How many decisions had each terminal action, as recorded and as replayed. */
  actions: { before: Record<Action, number>, after: Record<Action, number> }
  /** Decisions whose terminal action changes, in log order. */
  changed: ChangedDecision[]
  /** Early refusals the candidate rules cannot judge on what was known then (kept as recorded). */
  undecided: number
}

const LOGGED_IN = new Set(['authenticated', 'otp_required'])
const ACTIONS: readonly Action[] = ['none', 'allow', 'block', 'challenge', 'step-up']

/** Accumulates a replay one record at a time, so that a large log never sits in memory. */
export function createReplay (rules: CompiledRules): { add: (record: ReplayRecord) => void, report: () => ReplayReport } {
  const stats = new Map(rules.map(r => [r.id, {
    id: r.id, mode: r.mode, action: describeAction(r.action), matches: 0, wouldBlock: 0, wouldChallenge: 0, wouldStepUp: 0, shadowMatches: 0, likelyFalsePositives: 0, shadowFalsePositives: 0
  }]))
  const terminal = new Map(rules.map(r => [r.id, r.action.kind === 'block' || r.action.kind === 'challenge' || r.action.kind === 'step-up']))
  const counts = () => Object.fromEntries(ACTIONS.map(a => [a, 0])) as Record<Action, number>
  const report: ReplayReport = { decisions: 0, rules: [...stats.values()], actions: { before: counts(), after: counts() }, changed: [], undecided: 0 }

  // An early refusal recorded only some signals: the rest are unknown, not zero.
  function judge (record: ReplayRecord): RulesVerdict {
    const ctx = { now: Date.parse(record.time), draw: (ruleId: string) => canaryDraw(record.drawId ?? record.requestId, ruleId) }
    if (record.unknown === undefined || record.unknown.length === 0) return evaluateRules(rules, record.features, ctx)
    const unknown = new Set(record.unknown)
    const velocity = Object.fromEntries(Object.entries(record.features.velocity).filter(([k]) => !unknown.has(`velocity.${k}`)))
    const verdict = evaluateKnown(rules, { ...record.features, velocity, ...(unknown.has('honeypot') ? { honeypot: undefined } : {}) }, ctx)
    if (verdict !== undefined) return verdict
    report.undecided++
    return record.verdict
  }

  function add (record: ReplayRecord): void {
    const verdict = judge(record)
    const loggedIn = LOGGED_IN.has(record.outcome)
    report.decisions++
    report.actions.before[record.verdict.action]++
    report.actions.after[verdict.action]++
    for (const id of verdict.enforced) {
      const s = stats.get(id)
      if (s === undefined) continue
      s.matches++
      if (id !== verdict.ruleId) continue
      if (verdict.action === 'block') s.wouldBlock++
      if (verdict.action === 'challenge') s.wouldChallenge++
      if (verdict.action === 'step-up') s.wouldStepUp++
      if (loggedIn && terminal.get(id) === true) s.likelyFalsePositives++
    }
    for (const id of verdict.shadowed) {
      const s = stats.get(id)
      if (s === undefined) continue
      s.matches++
      s.shadowMatches++
      if (loggedIn && terminal.get(id) === true) s.shadowFalsePositives++
    }
    if (verdict.action !== record.verdict.action) {
      report.changed.push({
        requestId: record.requestId,
        time: record.time,
        outcome: record.outcome,
        before: withRule(record.verdict.action, record.verdict.ruleId),
        after: withRule(verdict.action, verdict.ruleId)
      })
    }
  }
  return { add, report: () => report }
}

export function replay (lines: Iterable<ReplayRecord>, rules: CompiledRules): ReplayReport {
  const run = createReplay(rules)
  for (const record of lines) run.add(record)
  return run.report()
}

function withRule (action: Action, ruleId: string | undefined): { action: Action, ruleId?: string } {
  return ruleId === undefined ? { action } : { action, ruleId }
}

const Bool = Type.Boolean()
const Count = Type.Number({ minimum: 0 })
const Texts = Type.Array(Type.String())
// What a replay needs of a logged line. Extra fields are fine: the log records more.
const RecordSchema = Type.Object({
  requestId: Type.String({ minLength: 1 }),
  drawId: Type.Optional(Type.String({ minLength: 1 })),
  unknown: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 })),
  time: Type.String({ minLength: 1 }),
  outcome: Type.String(),
  features: Type.Object({
    path: Type.String(),
    method: Type.String(),
    ip: Type.String(),
    ipKey: Type.String(),
    subnet: Type.String(),
    headers: Type.Record(Type.String(), Type.String()),
    userAgent: Type.String(),
    ua: Type.Object({ bot: Bool, missing: Bool, malformed: Bool, browser: Bool }),
    anomalies: Texts,
    honeypot: Bool,
    trustedDevice: Bool,
    userKey: Type.String(),
    // Older logs lack the later signals, and early refusals record only what was known: 0 then.
    velocity: Type.Partial(Type.Object(Object.fromEntries(VELOCITY_FIELDS.map(f => [f, Count]))))
  }),
  verdict: Type.Object({
    action: Type.Union(ACTIONS.map(a => Type.Literal(a))),
    ruleId: Type.Optional(Type.String()),
    enforced: Texts,
    shadowed: Texts,
    budgets: Type.Record(Type.String(), Type.Number()),
    tags: Texts
  })
})
const validateRecord = new Ajv({ allowUnionTypes: true }).compile<Static<typeof RecordSchema>>(RecordSchema)

/** One NDJSON line of the decision log, or undefined when it is not one (or its time is no time). */
export function parseDecisionLine (line: string): ReplayRecord | undefined {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  if (!validateRecord(value) || Number.isNaN(Date.parse(value.time))) return undefined
  const { requestId, drawId, unknown, time, outcome, features, verdict } = value
  const velocity = { ...NO_VELOCITY, globalAttempts: 0, globalFailureRatio: 0, ...features.velocity }
  return { requestId, ...(drawId === undefined ? {} : { drawId }), ...(unknown === undefined ? {} : { unknown }), time, outcome, features: { ...features, velocity }, verdict }
}
