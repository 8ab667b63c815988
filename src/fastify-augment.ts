import { type Criticality } from './admission/concurrency.js'
import { type ProblemCode } from './errors.js'
import { type ClientIdentity } from './pipeline/identify-client.js'
import { type LimitState } from './pipeline/rate-limit.js'

declare module 'fastify' {
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
    /** Set by the rate-limit stage for the bookkeeping after the backend answered. */
    limitState: LimitState | null
    /** Set by the admission stage: frees the request's slot once it is answered. */
    admissionRelease: (() => void) | null
  }
}
