// Velocity signals over a sliding window (ten buckets): distinct usernames per address, per /24
// and per declared device (HyperLogLog), attempts and failures per address and per /24, attempts
// per username. In Redis one script reads every subject of an attempt, in the same round trip as
// the rate limits (one script per subject on a Cluster); in memory in demo mode. Failures are
// counted up front, like the limits, and taken back on success.
import { type RedisClient } from '../infra/redis.js'
import { batchesAcrossKeys, defineScript } from '../infra/redis-script.js'
import { type CountedVelocity } from '../rules/features.js'
import { createGlobalFailures } from './global-failures.js'

export interface VelocitySubject {
  ipKey: string
  /** /24 or /64. */
  subnet: string
  userKey: string
  /** Client-declared device id (hashed), if the request had one. */
  deviceKey?: string
}

export interface Velocity {
  /**
   * Counts this attempt (as a failure until told otherwise) and reads the window. Never throws:
   * null when Redis failed, so that the attempt can be answered as the store's outage.
   */
  observe: (s: VelocitySubject) => Promise<CountedVelocity | null>
  /** The attempt was no failure after all (a success, or the backend could not tell). */
  notFailure: (s: VelocitySubject) => Promise<void>
  /** Counts a login attempt (as a failure until told otherwise) across the replica, in process. */
  countGlobal: () => { globalAttempts: number, globalFailureRatio: number }
  /** Takes the attempt out of the replica-wide window: another defence answered it. */
  forgetGlobal: () => void
  /** The replica-wide window as it stands, counting nothing. */
  peekGlobal: () => { globalAttempts: number, globalFailureRatio: number }
  /** Whether a refusal on the replica-wide signals from this address may stay in their window. */
  keepGlobalRefusal: (ipKey: string) => boolean
}

export interface VelocityOptions {
  redis: RedisClient | null
  keyPrefix: string
  windowS: number
  now: () => number
  maxEntries: number
}

const BUCKETS = 10
// Short, so that a wave shows within seconds and its end as quickly.
const GLOBAL_WINDOW_MS = 60_000

// Per subject in Redis: one hash for the window's counters (fields a<bucket> and f<bucket>) and
// one HyperLogLog per bucket for the distinct usernames. One hash instead of a hash per bucket
// halves the commands a reading costs Redis (8 instead of 16 per subject).
const KEYS_PER_SUBJECT = 1 + BUCKETS
// A window hash outlives its last write by the ttl (1.2 windows, 12 buckets): the fields of
// buckets 10 to 22 back may still be there, and go when the subject is next written.
const STALE_BUCKETS = [BUCKETS, 2 * BUCKETS + 2]

// KEYS: per subject its window hash, then its buckets' HyperLogLogs, newest first. ARGV: the ttl,
// the current bucket, then per subject the member to add (or ''), count an attempt (1/0), count
// a failure (1/0). Returns {distinct, attempts, failures} per subject.
const OBSERVE = `
local out = {}
local ttl, b = ARGV[1], tonumber(ARGV[2])
local fields, stale = {}, {}
for i = 0, ${BUCKETS - 1} do
  fields[i + 1] = 'a' .. (b - i)
  fields[${BUCKETS} + i + 1] = 'f' .. (b - i)
end
for i = ${STALE_BUCKETS[0]}, ${STALE_BUCKETS[1]} do
  table.insert(stale, 'a' .. (b - i))
  table.insert(stale, 'f' .. (b - i))
end
for s = 0, #KEYS / ${KEYS_PER_SUBJECT} - 1 do
  local first = s * ${KEYS_PER_SUBJECT}
  local member, attempt, failure = ARGV[3 + 3 * s], ARGV[4 + 3 * s], ARGV[5 + 3 * s]
  local window = KEYS[first + 1]
  if member ~= '' then
    redis.call('PFADD', KEYS[first + 2], member)
    redis.call('EXPIRE', KEYS[first + 2], ttl)
  end
  if attempt == '1' then redis.call('HINCRBY', window, 'a' .. b, 1) end
  if failure == '1' then redis.call('HINCRBY', window, 'f' .. b, 1) end
  redis.call('HDEL', window, unpack(stale))
  redis.call('EXPIRE', window, ttl)
  local counts = redis.call('HMGET', window, unpack(fields))
  local attempts, failures = 0, 0
  for i = 1, ${BUCKETS} do
    attempts = attempts + (tonumber(counts[i]) or 0)
    failures = failures + (tonumber(counts[${BUCKETS} + i]) or 0)
  end
  local distinct = 0
  if member ~= '' then distinct = redis.call('PFCOUNT', unpack(KEYS, first + 2, first + ${KEYS_PER_SUBJECT})) end
  table.insert(out, distinct)
  table.insert(out, attempts)
  table.insert(out, failures)
end
return out`

// KEYS: window hashes. ARGV: the current bucket. Never creates a key, never goes below zero.
const UNFAIL = `
local field = 'f' .. ARGV[1]
for i = 1, #KEYS do
  local failures = tonumber(redis.call('HGET', KEYS[i], field))
  if failures ~= nil and failures > 0 then redis.call('HINCRBY', KEYS[i], field, -1) end
end
return 1`

interface Reading {
  subject: string
  member: string
  attempt: boolean
  failure: boolean
}

export function createVelocity (o: VelocityOptions): Velocity {
  const bucketMs = (o.windowS * 1000) / BUCKETS
  const bucketOf = (at: number) => Math.floor(at / bucketMs)
  // One hash tag per subject: the whole window sits in one Cluster slot for PFCOUNT.
  const windowKey = (subject: string) => `${o.keyPrefix}vel:{${subject}}:w`
  const keys = (subject: string, b: number) => {
    const out = [windowKey(subject)]
    for (let i = 0; i < BUCKETS; i++) out.push(`${o.keyPrefix}vel:{${subject}}:${b - i}:u`)
    return out
  }
  const global = createGlobalFailures(GLOBAL_WINDOW_MS, o.now, o.maxEntries)
  const asSignals = (w: { attempts: number, failureRatio: number }) => ({ globalAttempts: w.attempts, globalFailureRatio: w.failureRatio })
  const countGlobal = () => asSignals(global.attempt())
  const peekGlobal = () => asSignals(global.read())
  const forgetGlobal = global.forget
  const keepGlobalRefusal = global.keepRefusal
  if (o.redis === null) return { ...memoryVelocity(bucketOf, o, global.notFailure), countGlobal, forgetGlobal, peekGlobal, keepGlobalRefusal }
  const redis = o.redis
  // One script for every subject of an attempt; on a Cluster one per subject (one hash slot
  // each), with a fixed key count, from which ioredis's auto-pipelining finds the slot.
  const together = batchesAcrossKeys(redis)
  const observeScript = defineScript(redis, 'lgVelocityObserve', together ? null : KEYS_PER_SUBJECT, OBSERVE)
  const unfailScript = defineScript(redis, 'lgVelocityUnfail', together ? null : 1, UNFAIL)
  const ttl = Math.ceil(o.windowS * 1.2)
  const observeOnce = async (readings: readonly Reading[]): Promise<number[]> => {
    const b = bucketOf(o.now())
    return (await observeScript(readings.flatMap(r => keys(r.subject, b)), [ttl, b, ...readings.flatMap(r => [r.member, r.attempt ? 1 : 0, r.failure ? 1 : 0])]) as number[]).map(Number)
  }
  const read = async (readings: readonly Reading[]): Promise<number[][]> => {
    const flat = together ? await observeOnce(readings) : (await Promise.all(readings.map(async r => await observeOnce([r])))).flat()
    return readings.map((_, i) => flat.slice(3 * i, 3 * i + 3))
  }
  const unfail = async (subjects: readonly string[]): Promise<void> => {
    const b = bucketOf(o.now())
    const windows = subjects.map(windowKey)
    await (together ? unfailScript(windows, [b]) : Promise.all(windows.map(async w => await unfailScript([w], [b]))))
  }

  return {
    async observe (s) {
      try {
        // IPv6: the /64 is the address already.
        const withSubnet = s.subnet !== s.ipKey
        const readings: Reading[] = [
          { subject: `ip:${s.ipKey}`, member: s.userKey, attempt: true, failure: true },
          { subject: `user:${s.userKey}`, member: '', attempt: true, failure: false },
          ...(withSubnet ? [{ subject: `net:${s.subnet}`, member: s.userKey, attempt: true, failure: true }] : []),
          ...(s.deviceKey === undefined ? [] : [{ subject: `dev:${s.deviceKey}`, member: s.userKey, attempt: false, failure: false }])
        ]
        const [ip = [], user = [], ...rest] = await read(readings)
        const subnet = withSubnet ? rest.shift() : ip
        return toVelocity(ip, subnet ?? ip, rest.shift() ?? [0, 0, 0], user)
      } catch {
        return null
      }
    },
    countGlobal,
    forgetGlobal,
    peekGlobal,
    keepGlobalRefusal,
    async notFailure (s) {
      global.notFailure()
      await unfail(s.subnet === s.ipKey ? [`ip:${s.ipKey}`] : [`ip:${s.ipKey}`, `net:${s.subnet}`]).catch(() => undefined)
    }
  }
}

const ratio = (failures: number, attempts: number) => attempts === 0 ? 0 : Math.min(1, failures / attempts)

function toVelocity ([ipDistinct = 0, ipAttempts = 0, ipFailures = 0]: number[], [netDistinct = 0, netAttempts = 0, netFailures = 0]: number[], [deviceDistinct = 0]: number[], [, userAttempts = 0]: number[]): CountedVelocity {
  return {
    usernamesPerIp: ipDistinct,
    usernamesPerDevice: deviceDistinct,
    failureRatioPerIp: ratio(ipFailures, ipAttempts),
    attemptsPerIp: ipAttempts,
    attemptsPerUsername: userAttempts,
    usernamesPerSubnet: netDistinct,
    failureRatioPerSubnet: ratio(netFailures, netAttempts),
    attemptsPerSubnet: netAttempts
  }
}

function memoryVelocity (bucketOf: (at: number) => number, o: VelocityOptions, globalNotFailure: () => void): Omit<Velocity, 'countGlobal' | 'forgetGlobal' | 'peekGlobal' | 'keepGlobalRefusal'> {
  const buckets = new Map<string, { bucket: number, users: Set<string>, attempts: number, failures: number }>()
  const touch = (subject: string, at: number) => {
    const key = `${subject}:${bucketOf(at)}`
    let entry = buckets.get(key)
    if (entry === undefined) {
      buckets.set(key, entry = { bucket: bucketOf(at), users: new Set(), attempts: 0, failures: 0 })
      if (buckets.size > o.maxEntries) buckets.delete(buckets.keys().next().value as string)
    }
    return entry
  }
  const window = (subject: string, at: number) => {
    const now = bucketOf(at)
    return Array.from({ length: BUCKETS }, (_, i) => buckets.get(`${subject}:${now - i}`)).filter(b => b !== undefined)
  }
  const read = (subject: string, member: string, attempt: boolean, failure: boolean): number[] => {
    const at = o.now()
    const head = touch(subject, at)
    if (member !== '') head.users.add(member)
    if (attempt) head.attempts++
    if (failure) head.failures++
    const w = window(subject, at)
    return [new Set(w.flatMap(b => [...b.users])).size, w.reduce((n, b) => n + b.attempts, 0), w.reduce((n, b) => n + b.failures, 0)]
  }
  return {
    async observe (s) {
      const device = s.deviceKey === undefined ? [0, 0, 0] : read(`dev:${s.deviceKey}`, s.userKey, false, false)
      const ip = read(`ip:${s.ipKey}`, s.userKey, true, true)
      const subnet = s.subnet === s.ipKey ? ip : read(`net:${s.subnet}`, s.userKey, true, true)
      return toVelocity(ip, subnet, device, read(`user:${s.userKey}`, '', true, false))
    },
    async notFailure (s) {
      globalNotFailure()
      for (const subject of s.subnet === s.ipKey ? [`ip:${s.ipKey}`] : [`ip:${s.ipKey}`, `net:${s.subnet}`]) {
        const head = touch(subject, o.now())
        head.failures = Math.max(0, head.failures - 1)
      }
    }
  }
}
