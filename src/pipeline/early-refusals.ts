// Refusals answered below the router. During an attack most login requests come from addresses
// already refused (an address-wide limit blocked, or rules decided by the headers and the
// address's recent reading), and the address gate refuses those before the body is read. Here
// the gate's own decision answers them on the raw request, before Fastify builds a request,
// runs its hooks and its error path: a refusal costs a fraction of what it costs through the
// router (bench/RESULTS.md), so an attacker pays more to send it than the gateway to refuse it.
//
// The answer, its metrics and its decision-log line are the pipeline's own. Whatever the
// pipeline might answer differently goes on to Fastify: another route or method, a listed
// address, a device token (its body may change the budgets), and any request that admission or
// load shedding would hold or refuse first (maintenance, a re-admission ramp, no free slot, the
// process under pressure). Refusals here log one line ("request refused") instead of Fastify's
// request lines.
import { type IncomingMessage, type ServerResponse } from 'node:http'
import { type Logger } from 'pino'
import { type Metrics } from '../infra/metrics.js'
import { requestIdFor } from '../infra/logger.js'
import { pickLocale, refusalLogFields, toProblem } from '../problem-details.js'
import { type AddressDecision } from './address-gate.js'
import { type Admission } from './admission.js'
import { type Attempts, DEVICE_HEADER } from './attempt.js'
import { type AddressLists, identifyRaw } from './identify-client.js'

export const LOGIN_ROUTE = '/auth/login'
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8'
// Broader than @fastify/cookie's parser on purpose: what it might read a device token from goes on.
const DEVICE_COOKIE_PAIR = /(?:^|;)\s*did\s*=/

export interface EarlyRefusalOptions {
  decide: AddressDecision
  admission: Pick<Admission, 'wouldAdmit'>
  /** @fastify/under-pressure's verdict (false where it is not registered). */
  underPressure: () => boolean
  lists: AddressLists
  clientAddress: (req: IncomingMessage) => string | undefined
  /** Headers every answer carries (security headers, Cache-Control). */
  headers: Readonly<Record<string, string>>
  typeBase: string
  metrics: Metrics
  attempts: Pick<Attempts, 'recordBeforeBody'>
  log: Logger
  isDraining: () => boolean
}

/** Answers the request and returns true when it is refused here; false: Fastify takes it. */
export type EarlyRefusals = (req: IncomingMessage, res: ServerResponse) => boolean

export function createEarlyRefusals (o: EarlyRefusalOptions): EarlyRefusals {
  const staticPairs = Object.entries(o.headers).flat()
  return function refuseEarly (req, res) {
    if (req.method !== 'POST' || (req.url !== LOGIN_ROUTE && !req.url?.startsWith(`${LOGIN_ROUTE}?`))) return false
    const started = performance.now()
    const ip = o.clientAddress(req)
    if (ip === undefined || o.underPressure() || !o.admission.wouldAdmit()) return false
    const client = identifyRaw(req, ip, o.lists)
    const headers = req.headers
    // Whatever might be a device token goes to the router, which parses cookies as @fastify/cookie does.
    if (client.listed !== null || typeof headers[DEVICE_HEADER] === 'string' || DEVICE_COOKIE_PAIR.test(headers.cookie ?? '')) return false
    // Keyed by the raw request: if it goes on, the stages find what the gate computed.
    const refusal = o.decide({ key: req, path: LOGIN_ROUTE, method: 'POST', headers, client, hasDeviceToken: false })
    if (refusal === undefined) return false

    // Decided (and counted): from here on the lane answers. Nothing below is known to throw; if it
    // did, the router would answer instead and count the refusal a second time.
    const requestId = requestIdFor(req)
    const problem = toProblem(refusal.error, { requestId, locale: pickLocale(headers['accept-language']), instance: LOGIN_ROUTE, typeBase: o.typeBase })
    const body = JSON.stringify(problem.body)
    // Header pairs, not an object: the static part is built once, the answer's own appended.
    const head = staticPairs.concat('x-request-id', requestId)
    for (const name in problem.headers) head.push(name, problem.headers[name] ?? '')
    head.push('content-type', PROBLEM_TYPE, 'content-length', String(Buffer.byteLength(body)))
    if (o.isDraining()) head.push('connection', 'close')
    res.writeHead(problem.status, head)
    res.end(body)

    if (o.log.isLevelEnabled('info')) o.log.info({ requestId, ...refusalLogFields(problem, refusal.error) }, 'request refused')
    o.metrics.httpRequests.inc({ route: LOGIN_ROUTE, method: 'POST', status: problem.status, code: problem.code })
    o.metrics.httpDuration.observe({ route: LOGIN_ROUTE }, (performance.now() - started) / 1000)
    o.metrics.logins.inc({ outcome: problem.code })
    o.attempts.recordBeforeBody(requestId, refusal.attempt, problem.code)
    return true
  }
}
