// Stage: refusals decided from the headers alone, before the body is read. During an attack
// most requests come from addresses already refused, and for them the gateway should spend
// less than the attacker does: no body parsing, no validation, no Redis. It only acts on a
// request without a device token, since a trusted device may be held by other budgets than its
// address's, and its trust needs the username from the body; everything else goes on to the
// bot filter, which decides the same way with the body known.
import { type FastifyRequest, type onRequestAsyncHookHandler } from 'fastify'
import { type GatewayError } from '../errors.js'
import { type Velocity } from '../bots/velocity.js'
import { type VelocitySnapshots } from '../bots/velocity-snapshots.js'
import { CHALLENGE_HEADER, type ChallengeGate } from '../challenge/challenge-gate.js'
import { type Metrics } from '../infra/metrics.js'
import { type Exemptions } from '../limits/exemptions.js'
import { type LimitGuard } from '../limits/limit-guard.js'
import { type Limits } from '../limits/limit-policy.js'
import { type RequestFeatures, type RulesVerdict } from '../rules/features.js'
import { canaryDraw, decideEarly, type EarlyFeatures, VELOCITY_FIELDS, type VelocityField } from '../rules/rule-engine.js'
import { type RulesState } from '../rules/rules-state.js'
import { type AttemptState, deviceTokenOf, drawIdOf, headerFeaturesOf, headOf, NO_RULES, type RequestHead } from './attempt.js'
import { type ClientIdentity } from './identify-client.js'
import { notesOf } from './request-notes.js'
import { countRules, keepsGlobalCount, ruleRefusal, unknownSignalsOf } from './bot-filter.js'
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

/** A refusal decided before the body: the answer, and the attempt as the decision log keeps it. */
export interface AddressRefusal {
  error: GatewayError
  attempt: AttemptState
}

/** The request before its body, as far as the address gate reads it. */
export interface GateInput extends RequestHead {
  client: ClientIdentity
  /** It carries a device token (cookie `did` or X-Device-Token): its body may change the budgets. */
  hasDeviceToken: boolean
}

export type AddressDecision = (input: GateInput) => AddressRefusal | undefined

export function createAddressDecision (o: AddressGateOptions): AddressDecision {
  // The features before the body, in one object of a fixed shape (an attack makes thousands a
  // second): velocity signals not known yet are present as undefined, which the rules read as unknown.
  function features (input: GateInput, client: ClientIdentity): EarlyFeatures {
    const h = headerFeaturesOf(input, client)
    const known = o.snapshots.known(client.ipKey, client.subnet)
    const global = o.velocity.peekGlobal()
    return {
      path: h.path,
      method: h.method,
      ip: h.ip,
      ipKey: h.ipKey,
      subnet: h.subnet,
      headers: h.headers,
      userAgent: h.userAgent,
      ua: h.ua,
      anomalies: h.anomalies,
      honeypot: undefined,
      trustedDevice: false, // no device token came with it
      userKey: '',
      velocity: {
        usernamesPerIp: known.usernamesPerIp,
        usernamesPerDevice: known.usernamesPerDevice,
        failureRatioPerIp: known.failureRatioPerIp,
        attemptsPerIp: known.attemptsPerIp,
        attemptsPerUsername: known.attemptsPerUsername,
        usernamesPerSubnet: known.usernamesPerSubnet,
        failureRatioPerSubnet: known.failureRatioPerSubnet,
        attemptsPerSubnet: known.attemptsPerSubnet,
        globalAttempts: global.globalAttempts,
        globalFailureRatio: global.globalFailureRatio
      }
    }
  }

  // What the decision log keeps of a refusal before the body: the body's signals stay unknown,
  // recorded as 0 and named in `unknownSignals`.
  function refused (features: EarlyFeatures, rules: RulesVerdict, extra: { limit?: string, drawId?: string }): AttemptState {
    const { ipKey, subnet } = features
    const unknown = unknownSignalsOf(features.velocity)
    const velocity = features.velocity as Record<VelocityField, number | undefined>
    for (const field of VELOCITY_FIELDS) velocity[field] ??= 0
    features.honeypot = false
    return {
      subject: { ipKey, subnet, userKey: '' },
      velocitySubject: { ipKey, subnet, userKey: '' },
      features: features as RequestFeatures,
      keys: [],
      rules,
      challengeSolved: false,
      decidedEarly: true,
      beforeBody: true,
      unknownSignals: unknown,
      ...(extra.limit === undefined ? {} : { limit: extra.limit }),
      ...(extra.drawId === undefined ? {} : { drawId: extra.drawId })
    }
  }

  return function decideAtAddress (input) {
    const refusal = decide(input)
    // Decided once per request: below the router (early-refusals.ts), or by the stage.
    if (refusal === undefined) notesOf(input.key).passedGate = true
    return refusal
  }

  function decide (input: GateInput): AddressRefusal | undefined {
    const client = input.client
    if (client.listed === 'allow' || input.hasDeviceToken) return undefined
    const exempt = o.exemptions.of(client.ipKey, '', undefined).ip
    const known = o.guard.knownAddressBlock(client.ipKey, client.subnet, exempt)
    if (known !== undefined) {
      return { error: limitRefusal(known, o.gate, client.ipKey, { beforeBody: true }, o.limits), attempt: refused(features(input, client), NO_RULES, { limit: known.limit.name }) }
    }
    if (exempt) return undefined
    let drawId: string | undefined // the bot filter's draw too, and recorded for replay
    const draw = (ruleId: string) => {
      drawId = drawIdOf(input.key)
      return canaryDraw(drawId, ruleId)
    }
    const early = features(input, client)
    const verdict = decideEarly(o.rules.current().rules, early, { now: o.now(), draw })
    // A challenge answer needs its check (one Redis command): the bot filter has it.
    if (verdict === undefined || (verdict.action === 'challenge' && typeof input.headers[CHALLENGE_HEADER] === 'string')) return undefined
    const keep = keepsGlobalCount(o.rules, verdict, o.velocity, client.ipKey)
    if (keep) o.velocity.countGlobal() // a refusal on the wave itself stays in it
    countRules(o.metrics, verdict)
    return { error: ruleRefusal(verdict, o.gate, client.ipKey, o.exposeRuleId, true, keep), attempt: refused(early, verdict, drawId === undefined ? {} : { drawId }) }
  }
}

/** The stage: refuses what the address gate decides, before Fastify reads the body. */
export function createAddressGate (decide: AddressDecision): onRequestAsyncHookHandler {
  return async function addressGate (request: FastifyRequest): Promise<void> {
    const client = request.client
    if (client === null || notesOf(request.raw).passedGate) return
    const refusal = decide({ ...headOf(request), client, hasDeviceToken: deviceTokenOf(request) !== undefined })
    if (refusal === undefined) return
    request.attempt = refusal.attempt
    throw refusal.error
  }
}
