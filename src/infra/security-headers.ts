// helmet's security headers, computed once at startup and set on every answer. @fastify/helmet
// calls helmet(options) again on every request (rebuilding its Content-Security-Policy each
// time), which cost about 5% of a refused login's CPU; the headers never vary here (no CSP
// nonces), so helmet runs once against a recording response and the result is reused.
import { type FastifyInstance } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'

/** The headers helmet sets with these options (lower-case names). */
export function helmetHeaders (options: Readonly<HelmetOptions> = {}): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = String(value) },
    removeHeader (name: string) { Reflect.deleteProperty(headers, name.toLowerCase()) }
  }
  let failure: unknown
  helmet(options)({} as never, recorder as never, (err?: unknown) => { failure = err })
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure))
  return headers
}

/** What every answer carries: helmet's headers and `Cache-Control: no-store`. */
export function answerHeaders (options?: Readonly<HelmetOptions>): Record<string, string> {
  // Answers carry tokens and account state: never stored by a browser or a proxy.
  return { ...helmetHeaders(options), 'cache-control': 'no-store' }
}

/** answerHeaders and the request id, on every answer. */
export function registerSecurityHeaders (app: FastifyInstance, options?: Readonly<HelmetOptions>): void {
  const headers = answerHeaders(options)
  app.addHook('onRequest', function securityHeaders (request, reply, done) {
    reply.headers(headers).header('x-request-id', request.id)
    done()
  })
}
