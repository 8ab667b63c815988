// SMS pumping and toll fraud protection: caps on sends per destination per day and per country
// calling code per hour, across all challenges and replicas. Destinations are counted under a
// keyed hash, never as numbers or addresses.
import { createHmac } from 'node:crypto'
import { type RedisClient } from '../infra/redis.js'
import { parsePhoneNumberFromString } from 'libphonenumber-js/min'
import { type Metrics } from '../infra/metrics.js'
import { type Counter, createCounter, increment } from '../limits/counter.js'
import { type InsuranceStorage } from '../limits/insurance-storage.js'
import { type Channel } from './challenge.js'

export type CapResult =
  | { kind: 'ok', release: () => Promise<void> }
  | { kind: 'over', retryAfterMs: number, cap: string, budget: number, windowS: number }

export interface SendCaps {
  /** Counts a send to this destination; `release` gives it back when nothing was delivered. */
  take: (channel: Channel, destination: string) => Promise<CapResult>
}

export interface SendCapOptions {
  redis: RedisClient | null
  keyPrefix: string
  secret: string
  perDestinationPerDay: number
  perCountryPerHour: number
  replicas: number
  metrics: Metrics
  /** The in-process counts, shared with the login limits (insurance-storage.ts). */
  storage: InsuranceStorage
}

export function countryCallingCode (phone: string): string | undefined {
  return parsePhoneNumberFromString(phone)?.countryCallingCode
}

export function createSendCaps (o: SendCapOptions): SendCaps {
  const counter = (name: string, points: number, durationS: number) => createCounter({
    redis: o.redis,
    keyPrefix: `${o.keyPrefix}otpcap:${name}`,
    points,
    durationS,
    replicas: o.replicas,
    storage: o.storage,
    onInsurance: () => o.metrics.limitInsurance.inc({ limit: `otp_${name}` })
  })
  const caps: Array<{ name: string, counter: Counter, points: number, windowS: number, key: (channel: Channel, to: string) => string | undefined }> = [
    {
      name: 'destination_day',
      counter: counter('destination_day', o.perDestinationPerDay, 86_400),
      points: o.perDestinationPerDay,
      windowS: 86_400,
      key: (_channel, to) => createHmac('sha256', o.secret).update(`dest:${to.toLowerCase()}`).digest('base64url').slice(0, 22)
    },
    {
      name: 'country_hour',
      counter: counter('country_hour', o.perCountryPerHour, 3600),
      points: o.perCountryPerHour,
      windowS: 3600,
      key: (channel, to) => channel === 'email' ? undefined : countryCallingCode(to) ?? 'unknown'
    }
  ]

  return {
    async take (channel, to) {
      const held = caps.flatMap(cap => {
        const key = cap.key(channel, to)
        return key === undefined ? [] : [{ cap, key }]
      })
      const counts = await Promise.all(held.map(h => increment(h.cap.counter, h.key)))
      const release = async () => { await Promise.all(held.map(h => h.cap.counter.reward(h.key))) }
      const over = held.map((h, i) => ({ h, res: counts[i] })).filter(x => x.res !== undefined && x.res.consumedPoints > x.h.cap.points)
      if (over.length === 0) return { kind: 'ok', release }
      await release() // a refused send was not sent
      const worst = over.reduce((a, b) => (a.res?.msBeforeNext ?? 0) >= (b.res?.msBeforeNext ?? 0) ? a : b)
      return { kind: 'over', retryAfterMs: worst.res?.msBeforeNext ?? 1000, cap: worst.h.cap.name, budget: worst.h.cap.points, windowS: worst.h.cap.windowS }
    }
  }
}
