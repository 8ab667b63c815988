// The session travels as cookie `sid` for browsers and as a Bearer token for API clients.
import { type CookieSerializeOptions } from '@fastify/cookie'
import { type FastifyReply, type FastifyRequest } from 'fastify'
import { type Config } from '../config.js'
import { type IssuedSession } from './session-store.js'

export const SESSION_COOKIE = 'sid'

type CookieConfig = Pick<Config, 'sessionCookieSecure' | 'SESSION_COOKIE_SAMESITE'>

function cookieOptions (config: CookieConfig): CookieSerializeOptions {
  return { path: '/', httpOnly: true, secure: config.sessionCookieSecure, sameSite: config.SESSION_COOKIE_SAMESITE }
}

export function setSessionCookie (reply: FastifyReply, issued: IssuedSession, config: CookieConfig): void {
  const maxAge = Math.floor((issued.session.absoluteExpiresAt - issued.session.createdAt) / 1000)
  reply.setCookie(SESSION_COOKIE, issued.token, { ...cookieOptions(config), maxAge })
}

export function clearSessionCookie (reply: FastifyReply, config: CookieConfig): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(config))
}

/** The Authorization: Bearer token if present, else the `sid` cookie. */
export function readSessionToken (request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S{1,512})$/i.exec(auth)
    return match?.[1]
  }
  return request.cookies[SESSION_COOKIE]
}
