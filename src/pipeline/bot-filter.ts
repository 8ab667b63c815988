// Stage: bot filter and abuse rules for POST /auth/login. Computes the request's features (user
// agent, header anomalies, honeypot, trusted device, the replica-wide failure share), refuses
// without touching Redis what is already known to be refused (a blocked key; a rule decided by
// what the request shows and its address's recent reading), then in one round trip starts the
// limit counters and reads the velocity counters (and a challenge answer, if any), and evaluates
// the rules in force.
import { createHash } from 'node:crypto'
import { type FastifyRequest } from 'fastify'
import { honeypotFilled } from '../bots/signals.js'
import { type Velocity } from '../bots/velocity.js'
import { type VelocitySnapshots } from '../bots/velocity-snapshots.js'
import { CHALLENGE_HEADER, type ChallengeGate } from '../challenge/challenge-gate.js'
import { GatewayError } from '../errors.js'
import { type Metrics } from '../infra/metrics.js'
import { verifyDeviceCookie } from '../limits/device-cookie.js'
import { type Exemptions } from '../limits/exemptions.js'
import { type LimitGuard } from '../limits/limit-guard.js'
import { type Limits } from '../limits/limit-policy.js'
import { loginBodyOf } from '../login/login-schema.js'
import { NO_VELOCITY, type RequestFeatures, type RulesVerdict } from '../rules/features.js'
import { canaryDraw, decideEarly, type EvaluationContext, evaluateRules, usesGlobalSignals, VELOCITY_FIELDS, type VelocityField } from '../rules/rule-engine.js'
import { type RulesState } from '../rules/rules-state.js'
import { type Attempts, type AttemptState, deviceTokenOf, drawIdOf, headerFeaturesOf, headOf, NO_RULES } from './attempt.js'
import { limitRefusal } from './rate-limit.js'

export interface BotFilterOptions {
  guard: LimitGuard
  velocity: Velocity
  /** Recent readings of refused addresses, so that their next refusal costs no Redis. */
  snapshots: VelocitySnapshots
  limits: Limits
  gate: ChallengeGate
  rules: RulesState
  exemptions: Exemptions
  attempts: Attempts
  userKeyOf: (username: string) => string
  secret: string
  deviceMaxAgeS: number
  /** Whether `request_blocked` names the rule (off by default: it tells an attacker what to change). */
  exposeRuleId: boolean
  metrics: Metrics
  now: () => number
}

/** The velocity signals missing from an early reading, as the decision log names them. */
export function unknownOf (known: Partial<RequestFeatures['velocity']>): string[] {
  return VELOCITY_FIELDS.filter(f => known[f] === undefined).map(f => `velocity.${f}`)
}

// A refusal before the body names what it was decided without; an attack repeats the same few
// combinations thousands of times a second, so each list is made once (and shared, frozen).
const unknownLists = new Map<number, readonly string[]>()

/** The velocity signals still unknown, and `honeypot` (the body was never read). */
export function unknownSignalsOf (known: Partial<RequestFeatures['velocity']>): readonly string[] {
  let mask = 0
  for (let i = 0; i < VELOCITY_FIELDS.length; i++) if (known[VELOCITY_FIELDS[i] as VelocityField] === undefined) mask |= 1 << i
  let list = unknownLists.get(mask)
  if (list === undefined) unknownLists.set(mask, list = Object.freeze([...unknownOf(known), 'honeypot']))
  return list
}

export function countRules (metrics: Metrics, verdict: RulesVerdict): void {
  for (const rule of verdict.enforced) metrics.ruleMatches.inc({ rule, mode: 'enforced' })
  for (const rule of verdict.shadowed) metrics.ruleMatches.inc({ rule, mode: 'shadow' })
}

/**
 * The answer to a rule's refusal; `early` when it was decided before the counters were read,
 * `forGlobal` when the refusal stays in the replica-wide failure share (its puzzle says so).
 */
export function ruleRefusal (verdict: RulesVerdict, gate: ChallengeGate, ipKey: string, exposeRuleId: boolean, early: boolean, forGlobal: boolean): GatewayError {
  const logFields = { rule: verdict.ruleId, ...(early ? { early: true } : {}) }
  if (verdict.action === 'block') return new GatewayError('request_blocked', { logFields, ...(exposeRuleId ? { extensions: { ruleId: verdict.ruleId } } : {}) })
  return new GatewayError('challenge_required', { extensions: { challenge: gate.offer(ipKey, forGlobal) }, logFields })
}

/**
 * Whether refusing with this verdict keeps the attempt in the replica-wide failure share: only
 * for a rule on those signals, and only a few per address (see global-failures.ts).
 */
export function keepsGlobalCount (rules: RulesState, verdict: RulesVerdict, velocity: Velocity, ipKey: string): boolean {
  const rule = rules.current().rules.find(r => r.id === verdict.ruleId)
  return rule !== undefined && usesGlobalSignals(rule.when) && velocity.keepGlobalRefusal(ipKey)
}

export function createBotFilter (o: BotFilterOptions) {
  function start (request: FastifyRequest): AttemptState | null {
    const client = request.client
    if (client === null) return null
    const body = loginBodyOf(request)
    const userKey = o.userKeyOf(body.username)
    const deviceId = verifyDeviceCookie(deviceTokenOf(request), o.secret, userKey, o.now(), o.deviceMaxAgeS)
    // An allow-listed network skips the rules and the address-wide limits, like an unblocked
    // address; per-account, per-device and global limits still hold it.
    const exempt = o.exemptions.of(client.ipKey, userKey, deviceId)
    if (client.listed === 'allow') exempt.ip = true
    const declaredDevice = body.deviceId === undefined ? undefined : createHash('sha256').update(`${o.secret}:${body.deviceId}`).digest('base64url').slice(0, 22)
    return {
      subject: { ipKey: client.ipKey, subnet: client.subnet, userKey, ...(deviceId ? { deviceId } : {}), exempt },
      velocitySubject: { ipKey: client.ipKey, subnet: client.subnet, userKey, ...(declaredDevice ? { deviceKey: declaredDevice } : {}) },
      features: {
        ...headerFeaturesOf(headOf(request), client),
        honeypot: honeypotFilled(body),
        trustedDevice: deviceId !== undefined,
        userKey,
        // Every attempt counts towards the replica-wide share, refused early or not: else the
        // refusals themselves would hide the wave they refuse.
        velocity: { ...NO_VELOCITY, ...o.velocity.countGlobal() }
      },
      keys: [],
      rules: NO_RULES,
      challengeSolved: false
    }
  }

  // A rule refused the attempt: counted, logged, and answered.
  function refuse (request: FastifyRequest, state: AttemptState, verdict: RulesVerdict): never {
    const keep = keepsGlobalCount(o.rules, verdict, o.velocity, state.features.ipKey)
    if (!keep) o.velocity.forgetGlobal()
    state.rules = verdict
    countRules(o.metrics, verdict)
    for (const rule of verdict.shadowed) request.log.info({ rule }, 'rule matched in shadow mode')
    o.attempts.abandon(request, 'refused')
    throw ruleRefusal(verdict, o.gate, state.features.ipKey, o.exposeRuleId, state.decidedEarly === true, keep)
  }

  return async function botFilter (request: FastifyRequest): Promise<void> {
    const state = start(request)
    request.attempt = state
    if (state === null) return
    const known = o.guard.knownBlock(state.subject)
    if (known !== undefined) {
      o.velocity.forgetGlobal()
      state.limit = known.limit.name
      throw limitRefusal(known, o.gate, state.features.ipKey, { trustedDevice: state.features.trustedDevice }, o.limits)
    }
    const f = state.features
    const header = request.headers[CHALLENGE_HEADER]
    const answer = typeof header === 'string' ? header : undefined
    const exempt = state.subject.exempt?.ip === true // support staff unblocked this address
    // The canary draw, as a replay makes it: never the request id, which a client may choose (and
    // so its draw); made only when a canary rule matches, shared with the address gate.
    const ctx: EvaluationContext = {
      now: o.now(),
      draw: ruleId => {
        state.drawId = drawIdOf(request.raw)
        return canaryDraw(state.drawId, ruleId)
      }
    }
    const rules = o.rules.current().rules
    if (!exempt) {
      const knownSignals = {
        ...o.snapshots.known(f.ipKey, f.subnet),
        // Without a declared device id there is no device to count.
        ...(state.velocitySubject.deviceKey === undefined ? { usernamesPerDevice: 0 } : {}),
        globalAttempts: f.velocity.globalAttempts,
        globalFailureRatio: f.velocity.globalFailureRatio
      }
      const early = decideEarly(rules, { ...f, velocity: knownSignals }, ctx)
      // A challenge answer needs its check (one Redis command): only the full path has it.
      if (early !== undefined && !(early.action === 'challenge' && answer !== undefined)) {
        state.decidedEarly = true
        state.unknownSignals = unknownOf(knownSignals)
        state.features.velocity = { ...f.velocity, ...knownSignals }
        refuse(request, state, early)
      }
    }

    state.observed = o.guard.observe(state.subject)
    const [counted, solved] = await Promise.all([
      o.velocity.observe(state.velocitySubject),
      o.gate.solved(answer, f.ipKey, f.ip)
    ])
    // Redis failed this attempt: no verdict on the password may follow (see sessionStoreAvailable).
    if (counted === null) state.storeFailed = true
    f.velocity = { ...f.velocity, ...counted }
    state.challengeSolved = solved.ok
    // The refusal that offered this puzzle stayed in the replica-wide share; the person behind it
    // has now proved themselves, so it comes back out (else honest logins would hold a wave on).
    if (solved.ok && solved.forGlobal) o.velocity.forgetGlobal()
    if (exempt) return

    const verdict = evaluateRules(rules, f, ctx)
    if (verdict.action === 'block' || (verdict.action === 'challenge' && !solved.ok)) {
      if (counted !== null) o.snapshots.remember(f.ipKey, f.subnet, counted)
      refuse(request, state, verdict)
    }
    state.rules = verdict
    countRules(o.metrics, verdict)
    for (const rule of verdict.shadowed) request.log.info({ rule }, 'rule matched in shadow mode')
  }
}
