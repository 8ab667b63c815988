// Stage: bot filter and abuse rules for POST /auth/login. Computes the request's features (user
// agent, header anomalies, honeypot, trusted device), refuses keys already known to be blocked
// without touching Redis, then in one round trip starts the limit counters and reads the velocity
// counters (and a challenge answer, if any), and evaluates the rules in force.
import { createHash } from 'node:crypto'
import { type FastifyRequest } from 'fastify'
import { computeSignals } from '../bots/signals.js'
import { type Velocity } from '../bots/velocity.js'
import { CHALLENGE_HEADER, type ChallengeGate } from '../challenge/challenge-gate.js'
import { GatewayError } from '../errors.js'
import { type Metrics } from '../infra/metrics.js'
import { verifyDeviceCookie } from '../limits/device-cookie.js'
import { type Exemptions } from '../limits/exemptions.js'
import { type LimitGuard } from '../limits/limit-guard.js'
import { loginBodyOf } from '../login/login-schema.js'
import { type RequestFeatures, type RulesVerdict } from '../rules/features.js'
import { canaryDraw, evaluateRules } from '../rules/rule-engine.js'
import { type RulesState } from '../rules/rules-state.js'
import { type Attempts, type AttemptState, deviceTokenOf, NO_RULES } from './attempt.js'
import { limitRefusal } from './rate-limit.js'

export interface BotFilterOptions {
  guard: LimitGuard
  velocity: Velocity
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

const NO_VELOCITY: RequestFeatures['velocity'] = { usernamesPerIp: 0, usernamesPerDevice: 0, failureRatioPerIp: 0, attemptsPerIp: 0, attemptsPerUsername: 0 }

export function createBotFilter (o: BotFilterOptions) {
  function countRules (verdict: RulesVerdict): void {
    for (const rule of verdict.enforced) o.metrics.ruleMatches.inc({ rule, mode: 'enforced' })
    for (const rule of verdict.shadowed) o.metrics.ruleMatches.inc({ rule, mode: 'shadow' })
  }

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
    const signals = computeSignals(request.headers, body)
    const declaredDevice = body.deviceId === undefined ? undefined : createHash('sha256').update(`${o.secret}:${body.deviceId}`).digest('base64url').slice(0, 22)
    return {
      subject: { ipKey: client.ipKey, subnet: client.subnet, userKey, ...(deviceId ? { deviceId } : {}), exempt },
      velocitySubject: { ipKey: client.ipKey, userKey, ...(declaredDevice ? { deviceKey: declaredDevice } : {}) },
      features: {
        path: request.routeOptions.url ?? request.url,
        method: request.method,
        ip: client.ip,
        ipKey: client.ipKey,
        subnet: client.subnet,
        ...signals,
        trustedDevice: deviceId !== undefined,
        userKey,
        velocity: NO_VELOCITY
      },
      keys: [],
      rules: NO_RULES,
      challengeSolved: false
    }
  }

  return async function botFilter (request: FastifyRequest): Promise<void> {
    const state = start(request)
    request.attempt = state
    if (state === null) return
    const known = o.guard.knownBlock(state.subject)
    if (known !== undefined) {
      state.limit = known.limit.name
      throw limitRefusal(known, o.gate, state.features.ipKey, { trustedDevice: state.features.trustedDevice })
    }
    state.observed = o.guard.observe(state.subject)
    const header = request.headers[CHALLENGE_HEADER]
    const [velocity, solved] = await Promise.all([
      o.velocity.observe(state.velocitySubject),
      o.gate.solved(typeof header === 'string' ? header : undefined, state.features.ipKey, state.features.ip)
    ])
    state.features.velocity = velocity
    state.challengeSolved = solved
    if (state.subject.exempt?.ip === true) return // support staff unblocked this address

    // The same draw as a replay makes, so canary decisions replay exactly.
    const verdict = evaluateRules(o.rules.current().rules, state.features, { now: o.now(), draw: ruleId => canaryDraw(request.id, ruleId) })
    state.rules = verdict
    countRules(verdict)
    for (const rule of verdict.shadowed) request.log.info({ rule }, 'rule matched in shadow mode')
    if (verdict.action === 'block') {
      o.attempts.abandon(request, 'refused')
      throw new GatewayError('request_blocked', { logFields: { rule: verdict.ruleId }, ...(o.exposeRuleId ? { extensions: { ruleId: verdict.ruleId } } : {}) })
    }
    if (verdict.action === 'challenge' && !solved) {
      o.attempts.abandon(request, 'refused')
      throw new GatewayError('challenge_required', { extensions: { challenge: o.gate.offer(state.features.ipKey) }, logFields: { rule: verdict.ruleId } })
    }
  }
}
