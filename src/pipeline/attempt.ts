// One login attempt as the guard stages see it (bot filter, then rate limits), and its
// settlement once the backend has answered: counters refunded or reset, the device trusted, and
// one line in the decision log with the eventual outcome.
import { randomUUID } from 'node:crypto'
import { type IncomingHttpHeaders } from 'node:http'
import { type FastifyReply, type FastifyRequest } from 'fastify'
import { type HeaderSignals, headerSignals } from '../bots/signals.js'
import { type ClientIdentity } from './identify-client.js'
import { notesOf } from './request-notes.js'
import { type Velocity, type VelocitySubject } from '../bots/velocity.js'
import { DEVICE_COOKIE, signDeviceCookie, verifyDeviceCookie } from '../limits/device-cookie.js'
import { type LimitGuard, type Observed } from '../limits/limit-guard.js'
import { type LimitKey, type LimitSubject } from '../limits/limit-policy.js'
import { maskUsername } from '../login/mask.js'
import { loginBodyOf } from '../login/login-schema.js'
import { type DecisionLog } from '../rules/decision-log.js'
import { type RequestFeatures, type RulesVerdict } from '../rules/features.js'

export interface AttemptState {
  subject: LimitSubject
  velocitySubject: VelocitySubject
  features: RequestFeatures
  /** The limit counters' increments, started by the bot filter, judged by the rate-limit stage. */
  observed?: Promise<Observed>
  keys: LimitKey[]
  rules: RulesVerdict
  challengeSolved: boolean
  /** The limit that refused the attempt, if one did. */
  limit?: string
  /** authenticated or otp_required once the backend said yes. */
  outcome?: string
  /** Picks which canary rules hold for this attempt (made when one matched); recorded so that a replay draws the same. */
  drawId?: string
  /** Refused before any counter was read (see decideEarly). */
  decidedEarly?: boolean
  /** Its counters could not be read: Redis failed (or froze) for this very attempt. */
  storeFailed?: boolean
  /** Refused from its headers alone: the body was never read (see address-gate.ts). */
  beforeBody?: boolean
  /** For an early refusal, the signals it was decided without (`velocity.<field>`, `honeypot`). */
  unknownSignals?: readonly string[]
}

/** What the rules see of a request before its body: where it comes from and its header signals. */
export type HeaderFeatures = Pick<RequestFeatures, 'path' | 'method' | 'ip' | 'ipKey' | 'subnet'> & HeaderSignals

/** A request as the stages before the body see it: a Fastify request, or a raw one (see early-refusals.ts). */
export interface RequestHead {
  /** The raw request: what its stages share (features, the canary draw) is kept by it. */
  key: object
  path: string
  method: string
  headers: IncomingHttpHeaders
}

// Keyed by the raw request: what the address gate computed below the router (early-refusals.ts)
// serves the stages after it.
export const headOf = (request: FastifyRequest): RequestHead =>
  ({ key: request.raw, path: request.routeOptions.url ?? request.url, method: request.method, headers: request.headers })

/** Computed once per request: the address gate and the bot filter both read them. */
export function headerFeaturesOf (head: RequestHead, client: ClientIdentity): HeaderFeatures {
  const notes = notesOf(head.key)
  notes.headerFeatures ??= { path: head.path, method: head.method, ip: client.ip, ipKey: client.ipKey, subnet: client.subnet, ...headerSignals(head.headers) }
  return notes.headerFeatures
}

/**
 * The attempt's canary draw id, made when a canary rule first needs it: the address gate and the
 * bot filter draw from the same one, so that a canary acts on its share once, not twice.
 */
export function drawIdOf (key: object): string {
  const notes = notesOf(key)
  notes.drawId ??= randomUUID()
  return notes.drawId
}

export const DEVICE_HEADER = 'x-device-token'

/** The trusted-device token: the `did` cookie (browsers) or the X-Device-Token header (API clients). */
export function deviceTokenOf (request: FastifyRequest): string | undefined {
  const header = request.headers[DEVICE_HEADER]
  return request.cookies[DEVICE_COOKIE] ?? (typeof header === 'string' ? header : undefined)
}

export const NO_RULES: RulesVerdict = { action: 'none', enforced: [], shadowed: [], budgets: {}, tags: [] }

export interface Attempts {
  /**
   * The password was right: settle the counters; `complete` unless a second factor follows (then
   * `completedWithCode` settles the rest). Returns the username's limit key.
   */
  succeeded: (request: FastifyRequest, complete: boolean) => Promise<string>
  /** The one-time code was right: the login is complete. */
  completedWithCode: (request: FastifyRequest, userKey: string) => Promise<void>
  /** The username's limit key (keyed hash of the case-folded username). */
  userKeyOf: (request: FastifyRequest) => string
  /**
   * The attempt ends without a verdict on the password: no failure for the limits. `refused`:
   * a rule turned it away, so the velocity signals still count it as a failed attempt (else an
   * attacker's refused attempts would dilute the failure ratio that gives them away).
   */
  abandon: (request: FastifyRequest, how: 'refused' | 'unanswered') => void
  /**
   * After a complete login: the signed device token as the `did` cookie (browsers), returned for
   * the body too (API clients send it back as `X-Device-Token`); none if the request had a valid one.
   */
  trustDevice: (request: FastifyRequest, reply: FastifyReply, userKey: string) => string | undefined
  /** onResponse: the decision log line. */
  record: (request: FastifyRequest, reply: FastifyReply) => void
  /** The decision log line of an attempt answered before its body was read (see early-refusals.ts). */
  recordBeforeBody: (requestId: string, state: AttemptState, outcome: string) => void
}

export interface AttemptOptions {
  guard: LimitGuard
  velocity: Velocity
  decisions: DecisionLog
  userKeyOf: (username: string) => string
  secret: string
  device: { maxAgeS: number, secure: boolean }
  now: () => number
}

// During an attack thousands of decision lines a second share their millisecond: one ISO string each.
let isoMs = Number.NaN
let iso = ''
function timeOf (ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms
    iso = new Date(ms).toISOString()
  }
  return iso
}

export function createAttempts (o: AttemptOptions): Attempts {
  return {
    async succeeded (request, complete) {
      const state = request.attempt
      if (state === null) return o.userKeyOf(loginBodyOf(request).username) // no client address: nothing was counted
      await Promise.all([o.guard.passwordRight(state.subject, state.keys, request.log, complete), o.velocity.notFailure(state.velocitySubject)])
      return state.subject.userKey
    },

    userKeyOf: request => request.attempt?.subject.userKey ?? o.userKeyOf(loginBodyOf(request).username),

    async completedWithCode (request, userKey) {
      const client = request.client
      if (client === null) return
      const deviceId = verifyDeviceCookie(deviceTokenOf(request), o.secret, userKey, o.now(), o.device.maxAgeS)
      await o.guard.completed({ ipKey: client.ipKey, subnet: client.subnet, userKey, ...(deviceId ? { deviceId } : {}) }, request.log)
    },

    abandon (request, how) {
      const state = request.attempt
      if (state === null) return
      const keys = state.observed ?? Promise.resolve({ keys: state.keys, observations: [] })
      keys.then(observed => { o.guard.undo(observed.keys, request.log) }, () => undefined)
      if (how === 'unanswered') o.velocity.notFailure(state.velocitySubject).catch(() => undefined)
    },

    trustDevice (request, reply, userKey) {
      // The bot filter verified the device token for this user already (a second factor may have
      // come from another request: then it is verified here).
      const state = request.attempt
      const trusted = state !== null && state.subject.userKey === userKey
        ? state.subject.deviceId !== undefined
        : verifyDeviceCookie(deviceTokenOf(request), o.secret, userKey, o.now(), o.device.maxAgeS) !== undefined
      if (trusted) return undefined
      const token = signDeviceCookie(o.secret, userKey, o.now())
      reply.setCookie(DEVICE_COOKIE, token, { path: '/auth', httpOnly: true, sameSite: 'lax', secure: o.device.secure, maxAge: o.device.maxAgeS })
      return token
    },

    record (request, reply) {
      const state = request.attempt
      if (state === null || !o.decisions.wanted()) return
      const user = state.beforeBody === true ? '' : maskUsername(loginBodyOf(request).username)
      record(request.id, state, user, reply.problemCode ?? state.outcome ?? `status_${reply.statusCode}`)
    },

    recordBeforeBody (requestId, state, outcome) {
      if (o.decisions.wanted()) record(requestId, state, '', outcome)
    }
  }

  function record (requestId: string, state: AttemptState, user: string, outcome: string): void {
    o.decisions.record({
      requestId,
      ...(state.drawId === undefined ? {} : { drawId: state.drawId }),
      ...(state.decidedEarly ? { early: true } : {}),
      ...(state.beforeBody ? { beforeBody: true } : {}),
      ...(state.unknownSignals ? { unknown: state.unknownSignals } : {}),
      time: timeOf(o.now()),
      user,
      features: state.features,
      verdict: state.rules,
      ...(state.limit ? { limit: state.limit } : {}),
      challengeSolved: state.challengeSolved,
      outcome
    })
  }
}
