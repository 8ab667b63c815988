import { type ProblemCode } from './errors.js'

declare module 'fastify' {
  interface FastifyReply {
    /** Set when the answer is a problem document; read by metrics and the login counters. */
    problemCode: ProblemCode | null
  }
}
