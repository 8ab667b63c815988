// Stage: refusals decided from the headers alone, before the body is read. During an attack
// most requests come from addresses already refused, and for them the gateway should spend
// less than the attacker does: no body parsing, no validation, no Redis. It only acts on a
// request without a device token, since a trusted device may be held by other budgets than its
// address's, and its trust needs the username from the body; everything else goes on to the
// bot filter, which decides the same way with the body known.
import { type FastifyRequest } from 'fastify'
import { type Velocity } from '../bots/velocity.js'
import { type VelocitySnapshots } from '../bots/velocity-snapshots.js'
import { CHALLENGE_HEADER, type ChallengeGate } from '../challenge/challenge-gate.js'
import { type Metrics } from '../infra/metrics.js'
import { type Exemptions } from '../limits/exemptions.js'
import { type LimitGuard } from '../limits/limit-guard.js'
import { type Limits } from '../limits/limit-policy.js'
import { NO_VELOCITY, type RulesVerdict } from '../rules/features.js'
import { canaryDraw, decideEarly, type EarlyFeatures } from '../rules/rule-engine.js'
import { type RulesState } from '../rules/rules-state.js'
import { type AttemptState, deviceTokenOf, drawIdOf, headerFeaturesOf, NO_RULES } from './attempt.js'
import { countRules, keepsGlobalCount, ruleRefusal, unknownOf } from './bot-filter.js'
import { limitRefusal } from './rate-limit.js'

export interface AddressGateOptions {
  guard: LimitGuard
  velocity: Velocity
  snapshots: VelocitySnapshots
  rules: RulesState
  exemptions: Exemptions
  gate: ChallengeGate
  limits: Limits
  exposeRuleId: boolean
  metrics: Metrics
  now: () => number
}

export function createAddressGate (o: AddressGateOptions) {
  // What the decision log keeps of a refusal before the body: the body's signals stay unknown.
  function refused (features: EarlyFeatures, rules: RulesVerdict, extra: { limit?: string, drawId?: string }): AttemptState {
    const { ipKey, subnet } = features
    return {
      subject: { ipKey, subnet, userKey: '' },
      velocitySubject: { ipKey, subnet, userKey: '' },
      features: { ...features, honeypot: false, trustedDevice: false, userKey: '', velocity: { ...NO_VELOCITY, globalAttempts: 0, globalFailureRatio: 0, ...features.velocity } },
      keys: [],
      rules,
      challengeSolved: false,
      decidedEarly: true,
      beforeBody: true,
      unknownSignals: [...unknownOf(features.velocity), 'honeypot'],
      ...(extra.limit === undefined ? {} : { limit: extra.limit }),
      ...(extra.drawId === undefined ? {} : { drawId: extra.drawId })
    }
  }

  return async function addressGate (request: FastifyRequest): Promise<void> {
    const client = request.client
    if (client === null || client.listed === 'allow' || deviceTokenOf(request) !== undefined) return
    const exempt = o.exemptions.of(client.ipKey, '', undefined).ip
    const features: EarlyFeatures = {
      ...headerFeaturesOf(request, client),
      honeypot: undefined,
      trustedDevice: false, // no device token came with it
      userKey: '',
      velocity: { ...o.snapshots.known(client.ipKey, client.subnet), ...o.velocity.peekGlobal() }
    }
    const known = o.guard.knownAddressBlock(client.ipKey, client.subnet, exempt)
    if (known !== undefined) {
      request.attempt = refused(features, NO_RULES, { limit: known.limit.name })
      throw limitRefusal(known, o.gate, client.ipKey, { beforeBody: true }, o.limits)
    }
    if (exempt) return
    let drawId: string | undefined // the bot filter's draw too, and recorded for replay
    const draw = (ruleId: string) => {
      drawId = drawIdOf(request)
      return canaryDraw(drawId, ruleId)
    }
    const verdict = decideEarly(o.rules.current().rules, features, { now: o.now(), draw })
    // A challenge answer needs its check (one Redis command): the bot filter has it.
    if (verdict === undefined || (verdict.action === 'challenge' && typeof request.headers[CHALLENGE_HEADER] === 'string')) return
    const keep = keepsGlobalCount(o.rules, verdict, o.velocity, client.ipKey)
    if (keep) o.velocity.countGlobal() // a refusal on the wave itself stays in it
    countRules(o.metrics, verdict)
    request.attempt = refused(features, verdict, drawId === undefined ? {} : { drawId })
    throw ruleRefusal(verdict, o.gate, client.ipKey, o.exposeRuleId, true, keep)
  }
}
