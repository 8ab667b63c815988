import { type Criticality } from './admission/concurrency.js'
import { type ProblemCode } from './errors.js'
import { type ClientIdentity } from './pipeline/identify-client.js'
import { type AttemptState } from './pipeline/attempt.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** With ADMIN_PORT: the admin API's own server (server.ts listens on it). */
    adminServer?: FastifyInstance
  }
  interface FastifyContextConfig {
    /** Shed first under pressure ('normal': new logins), or served first ('critical'). */
    criticality?: Criticality
  }
  interface FastifyReply {
    /** Set when the answer is a problem document; read by metrics and the login counters. */
    problemCode: ProblemCode | null
  }
  interface FastifyRequest {
    /** Set by the identify-client stage. */
    client: ClientIdentity | null
    /** Set by the bot filter: the login attempt as the guard stages see it. */
    attempt: AttemptState | null
    /** Set by the admission stage: frees the request's slot once it is answered. */
    admissionRelease: (() => void) | null
  }
}
