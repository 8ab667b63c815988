// Velocity signals over a sliding window (ten buckets): distinct usernames per address, per /24
// and per declared device (HyperLogLog), attempts and failures per address and per /24, attempts
// per username. In Redis one script per subject, all sent with the rate limits as one command
// (see redis-script.ts); in memory in demo mode. Failures are counted up front, like the limits,
// and taken back on success.
import { type RedisClient } from '../infra/redis.js'
import { defineItemsScript } from '../infra/redis-items-script.js'
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
// one HyperLogLog per bucket for the distinct usernames, under the subject's hash tag (one
// Cluster slot, which PFCOUNT over the buckets needs). The script does its upkeep (dropping the
// fields of buckets that left the window, renewing expiries) only when a bucket starts or the
// HyperLogLog changed: inside Redis, each command a script calls costs more than the command
// itself, and most attempts fall in a bucket that has seen the subject. On one node the script
// names the bucket keys itself (fewer arguments to send); on a Cluster they are declared, so
// that a slot being migrated is redirected before the script runs.
//
// The window is read with HGETALL and the bucket of each field parsed, rather than asked for by
// name (HMGET of twenty names, HDEL of twenty-six): Redis's Lua turns a number into a string
// through printf's floating-point path, about 0.3 µs each, and naming the buckets took 150 of
// them per login, most of the time of a login's first script call (bench/RESULTS.md). Since a
// new bucket drops the fields that left the window, a hash holds ten buckets' fields at most
// (and any a replica whose clock runs ahead has started); a new subject's, one or two. The
// buckets' HyperLogLogs are named once per call, for every subject, by the prelude.

// One subject (an item of the login's call). keys: its window hash, then (on a Cluster) its
// buckets' HyperLogLogs, newest first. args: the member to add (or ''), and three flags in one
// string (count an attempt, count a failure, read the counts: '1' or '0' each; one argument
// instead of three, since every argument costs the client an allocation and Redis a string).
// On one node the buckets' names are the window's with the bucket for the final 'w'. shared:
// the ttl, the current bucket. Returns {distinct, attempts, failures}. A field not named
// a<bucket> or f<bucket> is dropped like a bucket that left the window.
type Flags = '111' | '101' | '000'
// HGETALL is a "random" command to Redis 6 and older: writes may follow it only under effects
// replication (the default since Redis 5), which every script asks for (redis-script.ts).
const OBSERVE_PRELUDE = `
local ttl, bucket, b = shared[1], shared[2], tonumber(shared[2])
local bucketNames = nil
local bucketName = function (i)
  if bucketNames == nil then
    bucketNames = {bucket}
    for j = 1, ${BUCKETS - 1} do bucketNames[j + 1] = string.format('%d', b - j) end
  end
  return bucketNames[i + 1]
end`
const OBSERVE = `
local window, member, flags = keys[1], args[1], args[2]
local fresh = false
if string.byte(flags, 1) == 49 then fresh = redis.call('HINCRBY', window, 'a' .. bucket, 1) == 1 end
if string.byte(flags, 2) == 49 and redis.call('HINCRBY', window, 'f' .. bucket, 1) == 1 then fresh = true end
local read = string.byte(flags, 3) == 49
local attempts, failures = 0, 0
if fresh or read then
  local fields, stale = redis.call('HGETALL', window), {}
  for i = 1, #fields, 2 do
    local kind, at = string.match(fields[i], '^([af])(%d+)$')
    local age = at == nil and ${BUCKETS} or b - tonumber(at)
    if age >= ${BUCKETS} then
      stale[#stale + 1] = fields[i]
    elseif age >= 0 and read then
      local n = tonumber(fields[i + 1]) or 0
      if kind == 'a' then attempts = attempts + n else failures = failures + n end
    end
  end
  if fresh then
    if #stale > 0 then redis.call('HDEL', window, unpack(stale)) end
    redis.call('EXPIRE', window, ttl)
  end
end
local distinct = 0
if member ~= '' then
  local buckets = {}
  if keys[2] ~= nil then
    for i = 1, ${BUCKETS} do buckets[i] = keys[i + 1] end
  else
    local prefix = string.sub(window, 1, -2)
    for i = 0, ${BUCKETS - 1} do buckets[i + 1] = prefix .. bucketName(i) .. ':u' end
  end
  if redis.call('PFADD', buckets[1], member) == 1 then redis.call('EXPIRE', buckets[1], ttl) end
  distinct = redis.call('PFCOUNT', unpack(buckets))
end
return {distinct, attempts, failures}`

// One subject's window hash. shared: the current bucket. Never creates a key (a field taken below
// zero is one that was not there: it goes again), never goes below zero.
const UNFAIL = `
local field = 'f' .. shared[1]
if redis.call('HINCRBY', keys[1], field, -1) < 0 then redis.call('HDEL', keys[1], field) end
return {1}`

export function createVelocity (o: VelocityOptions): Velocity {
  const bucketMs = (o.windowS * 1000) / BUCKETS
  const bucketOf = (at: number) => Math.floor(at / bucketMs)
  // One hash tag per subject: the whole window sits in one Cluster slot for PFCOUNT.
  const windowKey = (subject: string) => `${o.keyPrefix}vel:{${subject}}:w`
  // The bucket keys' names: `<prefix>vel:{<subject>}:<bucket>:u`.
  const bucketsPrefix = (subject: string) => `${o.keyPrefix}vel:{${subject}}:`
  const global = createGlobalFailures(GLOBAL_WINDOW_MS, o.now, o.maxEntries)
  const asSignals = (w: { attempts: number, failureRatio: number }) => ({ globalAttempts: w.attempts, globalFailureRatio: w.failureRatio })
  const countGlobal = () => asSignals(global.attempt())
  const peekGlobal = () => asSignals(global.read())
  const forgetGlobal = global.forget
  const keepGlobalRefusal = global.keepRefusal
  if (o.redis === null) return { ...memoryVelocity(bucketOf, o, global.notFailure), countGlobal, forgetGlobal, peekGlobal, keepGlobalRefusal }
  const cluster = o.redis.isCluster
  const observe = defineItemsScript(o.redis, 'lgVelocityObserve', { keys: cluster ? 1 + BUCKETS : 1, args: 2, reply: 3 }, 2, OBSERVE, OBSERVE_PRELUDE)
  const unfail = defineItemsScript(o.redis, 'lgVelocityUnfail', { keys: 1, args: 0, reply: 1 }, 1, UNFAIL)
  const ttl = Math.ceil(o.windowS * 1.2)
  const keysOf = (subject: string, b: number) => {
    const keys = [windowKey(subject)]
    if (cluster) for (let i = 0; i < BUCKETS; i++) keys.push(`${bucketsPrefix(subject)}${b - i}:u`)
    return keys
  }

  return {
    async observe (s) {
      const b = bucketOf(o.now())
      // Per subject: the member, and the flags (count an attempt, a failure, read the counts). IPv6: the /64 is the address already.
      const subjects: Array<[string, string, Flags]> = [[`ip:${s.ipKey}`, s.userKey, '111']]
      if (s.subnet !== s.ipKey) subjects.push([`net:${s.subnet}`, s.userKey, '111'])
      if (s.deviceKey !== undefined) subjects.push([`dev:${s.deviceKey}`, s.userKey, '000'])
      subjects.push([`user:${s.userKey}`, '', '101'])
      const replies = await observe(subjects.map(([subject, member, flags]) => ({ keys: keysOf(subject, b), args: [member, flags] })), [ttl, b])
      // Any subject Redis failed: the attempt is answered as the store's outage.
      if (replies.some(r => r instanceof Error)) return null
      const read = (i: number) => (replies[i] as unknown[]).map(Number)
      const ip = read(0)
      const subnet = s.subnet === s.ipKey ? ip : read(1)
      const device = s.deviceKey === undefined ? [0, 0, 0] : read(subjects.length - 2)
      return toVelocity(ip, subnet, device, read(subjects.length - 1))
    },
    countGlobal,
    forgetGlobal,
    peekGlobal,
    keepGlobalRefusal,
    async notFailure (s) {
      global.notFailure()
      const subjects = s.subnet === s.ipKey ? [`ip:${s.ipKey}`] : [`ip:${s.ipKey}`, `net:${s.subnet}`]
      await unfail(subjects.map(subject => ({ keys: [windowKey(subject)], args: [] })), [bucketOf(o.now())])
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
