// The OpenAPI description, generated from the route schemas (@fastify/swagger) and served with a
// browsable page at /docs (@fastify/swagger-ui, assets shipped in the package). Response schemas
// document; they never filter what is sent (serialization stays JSON.stringify).
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import { Type, type TSchema } from '@sinclair/typebox'
import { type FastifyInstance } from 'fastify'
import { PROBLEMS, type ProblemCode } from '../errors.js'
import { VERSION } from './version.js'

const codes = Object.keys(PROBLEMS) as ProblemCode[]

export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'PROBLEM_TYPE_BASE + code; GET it to read what the code means' }),
  title: Type.String({ description: 'Fixed per code, in English or Chinese from Accept-Language' }),
  status: Type.Integer(),
  detail: Type.String(),
  instance: Type.String(),
  code: Type.Union(codes.map(c => Type.Literal(c)), { description: 'Stable: clients branch on it' }),
  requestId: Type.String({ description: 'Also in the x-request-id header and the logs' }),
  retryAfter: Type.Optional(Type.Integer({ description: 'Seconds; also the Retry-After header' })),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), reason: Type.String(), message: Type.Optional(Type.String()) }))),
  attemptsLeft: Type.Optional(Type.Integer()),
  alternatives: Type.Optional(Type.Array(Type.String(), { description: 'otp_delivery_failed: the channels to offer instead' })),
  until: Type.Optional(Type.String({ description: 'maintenance: its end' })),
  challenge: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'challenge_required: the proof of work (and CAPTCHA site key)' }))
}, { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem document' })

/** Documented problem answers: `{ 401: …, 503: … }` for a route's `response` schema. */
export function problems (...which: ProblemCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, ProblemCode[]>()
  for (const code of which) byStatus.set(PROBLEMS[code].status, [...byStatus.get(PROBLEMS[code].status) ?? [], code])
  const out: Record<number, TSchema> = {}
  for (const [status, list] of byStatus) {
    out[status] = Type.Unsafe({ description: `Problem: ${list.map(c => `\`${c}\``).join(', ')}`, content: { 'application/problem+json': { schema: Type.Ref('Problem') } } })
  }
  return out
}

const catalog = codes.map(c => `| ${PROBLEMS[c].status} | \`${c}\` | ${PROBLEMS[c].title.en} |`).join('\n')

export async function registerOpenApi (app: FastifyInstance): Promise<void> {
  app.addSchema(ProblemSchema)
  // Response schemas are documentation: the answer is never cut down to them.
  app.setSerializerCompiler(() => data => JSON.stringify(data))
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Login resilience gateway',
        version: VERSION,
        description: `Every failure is \`application/problem+json\` (RFC 9457) with a stable \`code\`:\n\n| status | code | title |\n|---|---|---|\n${catalog}`
      },
      tags: [
        { name: 'login', description: 'Signing in, second factor, sessions' },
        { name: 'ops', description: 'Health, readiness, metrics' },
        { name: 'admin', description: 'Bearer ADMIN_TOKEN' },
        { name: 'demo', description: 'Demo mode only' }
      ],
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' }, session: { type: 'http', scheme: 'bearer' } } }
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` }
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' })
}

export const Authenticated = Type.Object({
  status: Type.Literal('authenticated'),
  userId: Type.String(),
  token: Type.String({ description: 'The session token (also the HttpOnly cookie sid)' }),
  expiresAt: Type.String({ description: 'When the session ends if unused (idle timeout)' }),
  deviceToken: Type.Optional(Type.String({ description: 'A new trusted-device token (also the cookie did); send it back as X-Device-Token' }))
}, { description: 'Signed in' })

export const OtpRequired = Type.Object({
  status: Type.Literal('otp_required'),
  challengeId: Type.String(),
  channels: Type.Array(Type.Union([Type.Literal('sms'), Type.Literal('voice'), Type.Literal('email')])),
  destination: Type.Optional(Type.String({ description: 'Masked, e.g. 138****5678' }))
}, { description: 'A one-time code must follow: POST /auth/otp/send, then /auth/otp/verify' })

export const SessionAnswer = Type.Object({
  status: Type.Optional(Type.Literal('active')),
  userId: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  expiresAt: Type.String(),
  absoluteExpiresAt: Type.String()
}, { additionalProperties: true })

/** Tags (and the admin security scheme) for every route a plugin adds. */
export function tagRoutes (app: FastifyInstance, tag: 'login' | 'ops' | 'admin' | 'demo'): void {
  app.addHook('onRoute', route => {
    route.schema = { ...route.schema, tags: [tag], ...(tag === 'admin' ? { security: [{ adminToken: [] }] } : {}) }
  })
}
