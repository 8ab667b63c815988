// Scoped, expiring unblocks granted by support staff: an exempt username, address or device is
// no longer held by the limits keyed on it (and an exempt address skips the abuse rules) until
// the exemption expires. Shared through Redis (one hash, read by every replica once a second),
// checked in process at no cost per login, and every grant is written to the audit log.
import { type RedisClient } from '../infra/redis.js'
import { type NdjsonSink } from '../infra/ndjson-sink.js'
import { storeUnavailable } from '../infra/store-guard.js'

export const EXEMPTION_SCOPES = ['username', 'ip', 'device'] as const
export type ExemptionScope = typeof EXEMPTION_SCOPES[number]

export interface Exemption {
  scope: ExemptionScope
  /** userKey, ipKey or device id. */
  key: string
  /** What support staff typed, masked for a username. */
  label: string
  until: number
  reason: string
  grantedAt: number
}

export interface Exempt {
  username: boolean
  ip: boolean
  device: boolean
}

export interface Exemptions {
  of: (ipKey: string, userKey: string, deviceId: string | undefined) => Exempt
  grant: (exemption: Exemption) => Promise<void>
  list: () => Exemption[]
  refresh: () => Promise<void>
  close: () => void
}

export interface ExemptionOptions {
  redis: RedisClient | null
  keyPrefix: string
  audit: NdjsonSink
  pollMs: number
  now: () => number
}

export function createExemptions (o: ExemptionOptions): Exemptions {
  const key = `${o.keyPrefix}exemptions`
  let granted = new Map<string, Exemption>()
  const id = (scope: ExemptionScope, k: string) => `${scope}:${k}`
  const active = (scope: ExemptionScope, k: string | undefined) => {
    if (k === undefined) return false
    const e = granted.get(id(scope, k))
    return e !== undefined && e.until > o.now()
  }

  async function refresh (): Promise<void> {
    if (o.redis === null) return
    const all = await o.redis.hgetall(key).catch(() => undefined)
    if (all === undefined) return
    const next = new Map<string, Exemption>()
    const expired: string[] = []
    for (const [field, json] of Object.entries(all)) {
      const e = JSON.parse(json) as Exemption
      if (e.until > o.now()) next.set(field, e)
      else expired.push(field)
    }
    granted = next
    if (expired.length > 0) await o.redis.hdel(key, ...expired).catch(() => undefined)
  }

  const timer = o.redis === null ? undefined : setInterval(() => { refresh().catch(() => undefined) }, o.pollMs)
  return {
    of: (ipKey, userKey, deviceId) => ({ username: active('username', userKey), ip: active('ip', ipKey), device: active('device', deviceId) }),
    async grant (e) {
      // Redis first: an unblock only this replica knows would be undone by its next refresh.
      try {
        await o.redis?.hset(key, id(e.scope, e.key), JSON.stringify(e))
      } catch (err) {
        throw storeUnavailable(err)
      }
      granted.set(id(e.scope, e.key), e)
      o.audit.write({ time: new Date(e.grantedAt).toISOString(), action: 'unblock', scope: e.scope, subject: e.label, until: new Date(e.until).toISOString(), reason: e.reason })
    },
    list: () => [...granted.values()].filter(e => e.until > o.now()),
    refresh,
    close: () => { clearInterval(timer) }
  }
}
