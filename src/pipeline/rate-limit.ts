// Stage: rate limits and brute-force protection for POST /auth/login, over the limit guard.
// Reads who is asking (address, username, trusted-device cookie), answers 429 with Retry-After
// and the IETF RateLimit fields, and after the backend's answer settles the counters.
import { type FastifyReply, type FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.js'
import { DEVICE_COOKIE, signDeviceCookie, verifyDeviceCookie } from '../limits/device-cookie.js'
import { type LimitGuard } from '../limits/limit-guard.js'
import { type LimitKey, type Limits, type LimitSubject } from '../limits/limit-policy.js'
import { userKeyOf } from '../limits/user-key.js'
import { loginBodyOf } from '../login/login-schema.js'

export interface LimitState {
  subject: LimitSubject
  keys: LimitKey[]
  trustedDevice: boolean
}

export interface LoginLimiterOptions {
  guard: LimitGuard
  limits: Limits
  secret: string
  device: { maxAgeS: number, secure: boolean }
  now: () => number
}

export interface LoginLimiter {
  /** preHandler: 429 when a limit holding the request is over budget. */
  rateLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  /** After a good password: settle the counters; the username's key, for trusting the device later. */
  succeeded: (request: FastifyRequest) => Promise<string | undefined>
  /** After a complete login: the signed device cookie, unless the request already brought one. */
  trustDevice: (request: FastifyRequest, reply: FastifyReply, userKey: string) => void
  /** The backend could not tell: the attempt was no failure. */
  undo: (request: FastifyRequest) => void
}

export function createLoginLimiter (o: LoginLimiterOptions): LoginLimiter {
  return {
    async rateLimit (request, reply) {
      const client = request.client
      if (client === null || client.listed === 'allow') return
      const userKey = userKeyOf(o.secret, loginBodyOf(request).username)
      const deviceId = verifyDeviceCookie(request.cookies[DEVICE_COOKIE], o.secret, userKey, o.now(), o.device.maxAgeS)
      const subject: LimitSubject = { ipKey: client.ipKey, subnet: client.subnet, userKey, ...(deviceId ? { deviceId } : {}) }

      const result = await o.guard.check(subject, request.log)
      if (result.kind === 'reject') {
        const { name } = result.limit
        const retryAfterSeconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000))
        throw new GatewayError('too_many_attempts', {
          retryAfterSeconds,
          headers: {
            'ratelimit-policy': `"${name}";q=${result.budget};w=${o.limits[name].windowS}`,
            ratelimit: `"${name}";r=0;t=${retryAfterSeconds}`
          },
          logFields: { limit: name, cached: result.cached, trustedDevice: deviceId !== undefined }
        })
      }
      if (result.quota) {
        const q = result.quota
        reply.header('ratelimit-policy', `"${q.name}";q=${q.budget};w=${q.windowS}`)
        reply.header('ratelimit', `"${q.name}";r=${q.remaining};t=${q.resetS}`)
      }
      request.limitState = { subject, keys: result.keys, trustedDevice: deviceId !== undefined }
    },

    async succeeded (request) {
      const state = request.limitState
      if (state === null) return userKeyOf(o.secret, loginBodyOf(request).username) // allow-listed: no limits ran
      await o.guard.succeeded(state.subject, state.keys, request.log)
      return state.subject.userKey
    },

    trustDevice (request, reply, userKey) {
      if (request.limitState?.trustedDevice === true) return
      reply.setCookie(DEVICE_COOKIE, signDeviceCookie(o.secret, userKey, o.now()), {
        path: '/auth', httpOnly: true, sameSite: 'lax', secure: o.device.secure, maxAge: o.device.maxAgeS
      })
    },

    undo (request) {
      if (request.limitState !== null) o.guard.undo(request.limitState.keys, request.log)
    }
  }
}
