// The gateway supports Redis 6.0 and newer (README "Production mode"). This machine runs a newer
// redis-server, so the test asks that server itself: MONITOR records every command the gateway
// sends on a login day (those inside Lua scripts too), and COMMAND DOCS tells the version that
// introduced each command and each option. Anything newer than 6.0 fails, naming the command.
import { setTimeout as sleep } from 'node:timers/promises'
import { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import pino from 'pino'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createMetrics } from '../../src/infra/metrics.js'
import { createSharedAddresses } from '../../src/limits/shared-addresses.js'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { webhookProvider, webhookSink } from '../helpers/otp-webhook-sink.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { buildTestApp, jsonLogin } from '../helpers/test-app.js'

const MINIMUM = [6, 0, 0]

type Reply = string | number | null | Reply[]

/** COMMAND DOCS answers in RESP2 as flat [key, value, ...] lists. */
function fields (list: Reply): Record<string, Reply> {
  const out: Record<string, Reply> = {}
  if (!Array.isArray(list)) return out
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = list[i + 1] ?? null
  return out
}

const newer = (since: Reply | undefined) => {
  if (typeof since !== 'string') return false
  const v = since.split('.').map(Number)
  for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== (MINIMUM[i] ?? 0)) return (v[i] ?? 0) > (MINIMUM[i] ?? 0)
  return false
}

/** The tokens (NX, GET, ...) an argument, or any argument inside it, is spelled with. */
function tokensOf (arg: Record<string, Reply>): string[] {
  const own = typeof arg.token === 'string' ? [arg.token.toUpperCase()] : []
  const nested = Array.isArray(arg.arguments) ? arg.arguments.flatMap(a => tokensOf(fields(a))) : []
  return [...own, ...nested]
}

/** Why this command, as sent, needs a Redis newer than MINIMUM; undefined when it does not. */
function tooNew (docs: Record<string, Record<string, Reply>>, args: string[]): string | undefined {
  let name = (args[0] ?? '').toLowerCase()
  let doc = docs[name]
  if (doc === undefined) return `${name}: unknown to this server`
  const sub = fields(doc.subcommands ?? null)[`${name}|${(args[1] ?? '').toLowerCase()}`]
  if (sub !== undefined) {
    name = `${name}|${(args[1] ?? '').toLowerCase()}`
    doc = fields(sub)
  }
  if (newer(doc.since)) return `${name}: since ${String(doc.since)}`
  const words = new Set(args.slice(2).map(a => a.toUpperCase())) // past the command and its key
  const check = (arg: Record<string, Reply>): string | undefined => {
    if (newer(arg.since)) {
      const used = tokensOf(arg).find(t => words.has(t))
      if (used !== undefined) return `${name} ... ${used}: since ${String(arg.since)}`
    }
    for (const inner of Array.isArray(arg.arguments) ? arg.arguments : []) {
      const why = check(fields(inner))
      if (why !== undefined) return why
    }
    return undefined
  }
  for (const arg of Array.isArray(doc.arguments) ? doc.arguments : []) {
    const why = check(fields(arg))
    if (why !== undefined) return why
  }
  return undefined
}

async function docsFor (redis: Redis, names: string[]): Promise<Record<string, Record<string, Reply>>> {
  const reply = await redis.call('COMMAND', 'DOCS', ...names) as Reply[]
  return Object.fromEntries(Object.entries(fields(reply)).map(([name, doc]) => [name, fields(doc)]))
}

async function loginDay (app: FastifyInstance, sms: Awaited<ReturnType<typeof webhookSink>>) {
  const nat = '198.51.100.90'
  // Enough distinct users from one address for it to be recognised as shared.
  for (const user of ['ann', 'ben', 'cat']) expect((await app.inject({ ...jsonLogin(user, 'right-pass'), remoteAddress: nat })).statusCode).toBe(200)
  for (let i = 0; i < 3; i++) expect((await app.inject({ ...jsonLogin('ann', 'wrong'), remoteAddress: nat })).statusCode).toBe(401)
  const session = await app.inject({ ...jsonLogin('ann', 'right-pass'), remoteAddress: nat })
  const token = session.json().token as string
  expect((await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200)
  expect((await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200)

  const challenge = await app.inject(jsonLogin('bob', 'right-pass'))
  const challengeId = challenge.json().challengeId as string
  const post = (url: string, payload: Record<string, string>) => app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } })
  expect((await post('/auth/otp/send', { challengeId, channel: 'sms' })).statusCode).toBe(200)
  const code = sms.delivered[0]?.code ?? ''
  expect((await post('/auth/otp/verify', { challengeId, code: code === '000000' ? '111111' : '000000' })).statusCode).toBe(401)
  expect((await post('/auth/otp/verify', { challengeId, code })).statusCode).toBe(200)
}

describe('Redis compatibility', () => {
  it('sends no command or option newer than Redis 6.0 on a login day', async () => {
    const server = await startRedisServer()
    onTestFinished(() => server.stop())
    const monitor = await new Redis(server.url).monitor()
    onTestFinished(() => { monitor.disconnect() })
    const sent: string[][] = []
    monitor.on('monitor', (_time: string, args: string[]) => { sent.push(args) })

    const backend = await fakeBackendForTest(({ username, password }) => {
      if (password !== 'right-pass') return { status: 401 }
      return { status: 200, body: { userId: `u-${username}`, ...(username === 'bob' ? { mfa: { phone: '+8613812345678' } } : {}) } }
    })
    const sms = await webhookSink()
    const app = await buildTestApp({
      env: {
        AUTH_BACKEND_URL: backend.url,
        REDIS_URL: server.url,
        SHARED_ADDRESS_MIN_USERS: '2',
        OTP_PROVIDERS: JSON.stringify([webhookProvider('sms1', sms, ['sms'], 1)])
      }
    })
    await loginDay(app, sms)

    // MONITOR reports in the server's order: once this marker is in, so is what came before it.
    const client = new Redis(server.url)
    onTestFinished(() => { client.disconnect() })
    await sleep(100) // bookkeeping the gateway does after answering
    await client.echo('end-of-login-day')
    const marker = () => sent.findIndex(a => a[1] === 'end-of-login-day')
    for (let i = 0; i < 50 && marker() === -1; i++) await sleep(20)
    const day = sent.slice(0, marker())
    expect(day.filter(args => args[0]?.toLowerCase() === 'pfadd').length).toBeGreaterThan(0) // the shared-address script ran
    const docs = await docsFor(client, [...new Set(day.map(a => (a[0] ?? '').toLowerCase()))])
    const problems = new Set(day.map(args => tooNew(docs, args)).filter(p => p !== undefined))
    expect([...problems]).toEqual([])
  })

  it('starts a shared address\'s day with its first success and never extends it, without EXPIRE NX', async () => {
    const server = await startRedisServer()
    onTestFinished(() => server.stop())
    const redis = new Redis(server.url)
    onTestFinished(() => { redis.disconnect() })
    const shared = createSharedAddresses({ redis, keyPrefix: 'c:', minUsers: 2, cacheTtlMs: 0, maxEntries: 10, log: pino({ level: 'silent' }), metrics: createMetrics(), now: Date.now })
    await shared.recordSuccess('198.51.100.1', 'ann')
    const ttl = await redis.ttl('c:shared:198.51.100.1')
    expect(ttl).toBeGreaterThan(86_000)
    expect(ttl).toBeLessThanOrEqual(86_400)
    await redis.expire('c:shared:198.51.100.1', 100) // later in the day
    await shared.recordSuccess('198.51.100.1', 'ben')
    expect(await redis.ttl('c:shared:198.51.100.1')).toBeLessThanOrEqual(100)
    expect(await shared.lookup('198.51.100.1')).toBe(true)
  })
})
