// The trusted-device cookie (OWASP "device cookies"): after a successful login the browser gets
// `did`, an HMAC-signed token bound to that username. A request that brings a valid one is
// counted under its device's own budget, so an attacker behind the same NAT cannot lock the
// user out. It names the user only by a keyed hash.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { memoizePerSecret } from '../infra/memo.js'
import { randomToken } from '../infra/random-token.js'

export const DEVICE_COOKIE = 'did'

interface DevicePayload {
  /** Keyed hash of the case-folded username. */
  u: string
  /** Random device id. */
  d: string
  /** Issued at, epoch seconds. */
  t: number
}

const mac = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('base64url')
// A user's binding is asked for at every login: remembered (bounded).
const userBinding = memoizePerSecret((secret, userKey) => mac(secret, `user:${userKey}`).slice(0, 22), 10_000)

export function signDeviceCookie (secret: string, userKey: string, now: number, deviceId = randomToken(16)): string {
  const payload: DevicePayload = { u: userBinding(secret, userKey), d: deviceId, t: Math.floor(now / 1000) }
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url')
  return `${body}.${mac(secret, body)}`
}

/** The device id if the cookie is authentic, unexpired and bound to this user; else undefined. */
export function verifyDeviceCookie (value: string | undefined, secret: string, userKey: string, now: number, maxAgeS: number): string | undefined {
  if (value === undefined || value.length > 512) return undefined
  const [body, signature, ...rest] = value.split('.')
  if (!body || !signature || rest.length > 0) return undefined
  const expected = Buffer.from(mac(secret, body))
  const given = Buffer.from(signature)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
  let payload: Partial<DevicePayload>
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<DevicePayload>
  } catch {
    return undefined
  }
  if (payload.u !== userBinding(secret, userKey) || typeof payload.d !== 'string' || typeof payload.t !== 'number') return undefined
  if (now / 1000 - payload.t > maxAgeS) return undefined
  return payload.d
}
