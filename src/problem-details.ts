// RFC 9457 problem documents: `toProblem` turns any thrown value into one (pure), and the
// handlers below are the only places that send them.
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { type Socket } from 'node:net'
import { type FastifyError, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify'
import { type FieldError, GatewayError, isProblemCode, type Locale, PROBLEMS, type ProblemCode } from './errors.js'
import { memoize } from './infra/memo.js'

export interface ProblemContext {
  requestId: string
  locale: Locale
  instance: string
  typeBase: string
}

export interface Problem {
  status: number
  code: ProblemCode
  headers: Record<string, string>
  body: Record<string, unknown>
}

// Clients send a handful of distinct Accept-Language values: each is parsed once (bounded).
const pickedLocale = memoize(parseLocale, 1000)

/** Picks the best supported locale from an Accept-Language header (RFC 9110 §12.5.4). */
export function pickLocale (acceptLanguage: string | undefined): Locale {
  return acceptLanguage ? pickedLocale(acceptLanguage.slice(0, 256)) : 'en'
}

function parseLocale (acceptLanguage: string): Locale {
  let best: Locale = 'en'
  let bestQ = 0
  for (const part of acceptLanguage.split(',')) {
    const [rawTag = '', ...params] = part.trim().split(';')
    const tag = rawTag.trim().toLowerCase()
    const qParam = params.find(p => p.trim().startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.trim().slice(2))
    if (!(q > bestQ)) continue
    // Every Chinese variant gets Simplified Chinese: closer to the reader than English.
    if (tag === 'zh' || tag.startsWith('zh-')) { best = 'zh-CN'; bestQ = q } else if (tag === 'en' || tag.startsWith('en-') || tag === '*') { best = 'en'; bestQ = q }
  }
  return best
}

export function toProblem (err: unknown, ctx: ProblemContext): Problem {
  const gatewayError = err instanceof GatewayError ? err : fromFrameworkError(err)
  const { code, extras } = gatewayError
  const spec = PROBLEMS[code]
  const status = extras.status ?? spec.status
  const headers: Record<string, string> = { ...extras.headers }
  const params: Record<string, unknown> = { ...extras.extensions }
  if (extras.retryAfterSeconds !== undefined) {
    const seconds = Math.max(1, Math.ceil(extras.retryAfterSeconds))
    headers['retry-after'] = String(seconds)
    params.retryAfter = seconds
  }
  const localParams = extras.localParams === undefined ? undefined : Object.fromEntries(Object.entries(extras.localParams).map(([k, v]) => [k, v[ctx.locale]]))
  const body: Record<string, unknown> = {
    type: ctx.typeBase + code,
    // RFC 9457 §3.1.3: title does not change between occurrences of the same type.
    title: spec.title[ctx.locale],
    status,
    detail: fillTemplate(spec.detail[ctx.locale], localParams === undefined ? params : { ...params, ...localParams }),
    instance: ctx.instance,
    code,
    requestId: ctx.requestId,
    ...params
  }
  return { status, code, headers, body }
}

function causeOf (err: unknown): string | undefined {
  const cause = (err as { cause?: unknown }).cause
  if (!(cause instanceof Error)) return undefined
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : ''
  return `${cause.message}${inner}`
}

function fillTemplate (template: string, params: Record<string, unknown>): string {
  if (!template.includes('{')) return template // most details have no placeholder (and no edge spaces)
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name]
    return typeof value === 'string' || typeof value === 'number' ? String(value) : whole
  }).trim()
}

/** Fastify's own 4xx errors map to catalog codes; anything else is an internal error. */
function fromFrameworkError (err: unknown): GatewayError {
  const fastifyError = err as Partial<FastifyError>
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('payload_too_large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError('unsupported_media_type')
    case 'FST_ERR_VALIDATION':
      return invalidRequest(toFieldErrors(fastifyError.validation ?? []))
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return invalidRequest([{ field: 'body', reason: 'malformed_body' }])
  }
  return new GatewayError('internal_error', { cause: err })
}

export function invalidRequest (errors: FieldError[]): GatewayError {
  return new GatewayError('invalid_request', { extensions: { errors } })
}

interface AjvLikeError {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
}

const REASON_BY_KEYWORD: Record<string, FieldError['reason']> = {
  required: 'required',
  additionalProperties: 'unknown_field',
  maxLength: 'too_long',
  minLength: 'too_short',
  type: 'invalid_type'
}

export function toFieldErrors (validation: readonly AjvLikeError[]): FieldError[] {
  const seen = new Set<string>()
  const errors: FieldError[] = []
  for (const e of validation) {
    const named = e.params.missingProperty ?? e.params.additionalProperty
    const field = typeof named === 'string' ? named : e.instancePath.slice(1).replaceAll('/', '.') || 'body'
    const reason = REASON_BY_KEYWORD[e.keyword] ?? 'invalid_format'
    const key = `${field}:${reason}`
    if (seen.has(key)) continue
    seen.add(key)
    errors.push({ field, reason })
  }
  return errors
}

/** What the one log line of a refusal says about it (never the request's secrets). */
export function refusalLogFields (problem: Problem, err: unknown): Record<string, unknown> {
  return { problem: problem.code, status: problem.status, ...(err instanceof GatewayError ? err.extras.logFields : {}) }
}

export function createProblemSender (typeBase: string) {
  return function sendProblem (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const problem = toProblem(err, {
      requestId: request.id,
      locale: pickLocale(request.headers['accept-language']),
      instance: request.url.split('?', 1)[0] ?? '/',
      typeBase
    })
    reply.problemCode = problem.code
    const fields = refusalLogFields(problem, err)
    if (problem.code === 'internal_error') {
      request.log.error({ err }, 'unexpected error')
    } else if (problem.status >= 500) {
      // A dependency failed: say which, without its full stack on every refused request.
      request.log.warn({ ...fields, cause: causeOf(err) }, 'request refused')
    } else {
      request.log.info(fields, 'request refused')
    }
    return reply.code(problem.status).headers(problem.headers).type('application/problem+json').send(problem.body)
  }
}

/** GET /problems/:code: what a problem `type` URI names, for people reading a problem document. */
export const problemDocsRoute: FastifyPluginAsync = async function problemDocsRoute (app) {
  app.get<{ Params: { code: string } }>('/problems/:code', { schema: { tags: ['ops'], summary: 'What a problem code means, in English and Chinese' } }, async function problemDoc (request) {
    const code = request.params.code
    if (!isProblemCode(code)) throw new GatewayError('not_found')
    const { status, title, detail } = PROBLEMS[code]
    return { code, status, title, detail }
  })
}

/**
 * For what Node refuses before it is a request (a malformed request line, headers too slow or
 * too large): a problem document written straight to the socket, with a fresh request id.
 */
export function createClientErrorHandler (typeBase: string) {
  return function clientErrorHandler (err: Error & { code?: string }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    if (socket.writable) {
      const code = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'invalid_request'
      const requestId = randomUUID()
      const extras = code === 'invalid_request' ? { extensions: { errors: [{ field: 'request', reason: 'malformed_body' }] } } : {}
      const problem = toProblem(new GatewayError(code, extras), { requestId, locale: 'en', instance: '/', typeBase })
      const body = JSON.stringify(problem.body)
      socket.write(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\ncontent-type: application/problem+json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`)
    }
    socket.destroy(err)
  }
}
