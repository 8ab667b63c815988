import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import { describe, expect, it, onTestFinished } from 'vitest'
import { closeRedis, createRedis, waitForRedis } from '../../src/infra/redis.js'
import { COMMAND_TIMED_OUT } from '../../src/infra/redis-deadline.js'
import { createStoreHealth } from '../../src/infra/store-guard.js'
import { createRedisSessionStore } from '../../src/session/redis-session-store.js'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { gatewayClient } from '../helpers/redis-probe.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { buildTestApp, jsonLogin } from '../helpers/test-app.js'

async function appOnOwnRedis () {
  const redis = await startRedisServer()
  onTestFinished(() => redis.stop())
  const backend = await fakeBackendForTest()
  // No grace copy of sessions here: these tests look at the store itself (overload.test.ts covers grace).
  const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '100', SESSION_GRACE_S: '0' } })
  return { app, redis, backend }
}

async function timed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const started = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - started }
}

async function until (fn: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await fn()) return true
    await sleep(50)
  }
  return false
}

describe('the Redis client', () => {
  it('never replays a command that was in flight when the connection died, so nothing counts twice', async () => {
    const server = await startRedisServer()
    onTestFinished(() => server.stop())
    const client = createRedis({ topology: { kind: 'single', url: server.url }, commandTimeoutMs: 100, connectTimeoutMs: 500 }, pino({ level: 'silent' }))
    onTestFinished(() => closeRedis(client))
    await waitForRedis(client, 2000)

    server.freeze()
    await expect(client.incr('attempts')).rejects.toThrow(/timed out/)
    await server.restart() // the frozen server dies with the INCR unanswered; a fresh one starts
    await waitForRedis(client, 5000).catch(() => undefined)
    expect(await until(async () => client.status === 'ready', 5000)).toBe(true)
    await sleep(200)
    expect(await client.get('attempts')).toBeNull()
  })

  it('never stays ended unless closed on purpose: an ended client connects again by itself', async () => {
    const server = await startRedisServer()
    onTestFinished(() => server.stop())
    const client = createRedis({ topology: { kind: 'single', url: server.url }, commandTimeoutMs: 100, connectTimeoutMs: 500 }, pino({ level: 'silent' }))
    await waitForRedis(client, 2000)
    client.disconnect() // as ioredis ends a client whose connection attempt was called off
    expect(await until(async () => client.status === 'end', 1000)).toBe(true)
    expect(await until(async () => client.status === 'ready', 3000)).toBe(true)
    expect(await client.ping()).toBe('PONG')
    await closeRedis(client)
    await sleep(1500)
    expect(client.status).toBe('end')
  })

  it('answers a command whose reply came in while the event loop stood still past its deadline, and times out one Redis never answers', async () => {
    const server = await startRedisServer()
    onTestFinished(() => server.stop())
    const client = await gatewayClient(server.url, 100)
    await client.set('k', 'v')

    const stalled = client.get('k') // written at once; the reply waits unread through the stall
    stallLoop(250)
    expect(await stalled).toBe('v')

    server.freeze()
    try {
      const { value, ms } = await timed(async () => await client.get('k').then(() => undefined, (err: unknown) => err))
      expect((value as Error).message).toBe(COMMAND_TIMED_OUT)
      expect(ms).toBeGreaterThanOrEqual(95)
      expect(ms).toBeLessThan(300)
    } finally {
      server.thaw()
    }
  })

  it('fails a command at once while disconnected instead of queueing it', async () => {
    const server = await startRedisServer()
    onTestFinished(() => server.stop())
    const client = createRedis({ topology: { kind: 'single', url: server.url }, commandTimeoutMs: 100, connectTimeoutMs: 500 }, pino({ level: 'silent' }))
    onTestFinished(() => closeRedis(client))
    await waitForRedis(client, 2000)
    await server.kill()
    // The client learns of the closed socket a moment after the kill; until then a command would
    // still be written to the dying socket.
    expect(await until(async () => client.status !== 'ready', 2000)).toBe(true)
    const { value, ms } = await timed(async () => await client.get('x').then(() => undefined, (err: unknown) => err))
    // ioredis' own refusal with the offline queue off, not a command timeout (100 ms here).
    expect(value).toBeInstanceOf(Error)
    expect((value as Error).message).toBe("Stream isn't writeable and enableOfflineQueue options is false")
    expect(ms).toBeLessThan(30)
  })
})

/** Holds the event loop, as a cold start, a long GC pause or a CPU-starved container does. */
function stallLoop (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* the stall itself */ }
}

describe('the session store\'s health', () => {
  it('stays available through a stall of the gateway\'s own loop, and turns unavailable (logged once) when Redis freezes', async () => {
    const server = await startRedisServer()
    onTestFinished(() => server.stop())
    const client = await gatewayClient(server.url, 100)
    const warnings: string[] = []
    const log = pino({ level: 'warn' }, { write: (line: string) => { warnings.push(line) } })
    const health = createStoreHealth({ redis: client, log, now: Date.now })
    const policy = { idleMs: 60_000, absoluteMs: 600_000, maxPerUser: 5 }
    const store = createRedisSessionStore({ redis: client, keyPrefix: 't:', secret: 'x'.repeat(32), policy, health, now: Date.now })
    const { token } = await store.issue('u-alice') // the scripts are loaded: one command per call from here

    // The check is written (the batch flushes on nextTick), then the loop stands still past its
    // deadline while Redis answers at once.
    const check = store.validate(token)
    process.nextTick(() => { stallLoop(200) })
    expect((await check)?.userId).toBe('u-alice')
    expect(health.available()).toBe(true)

    server.freeze()
    try {
      for (let i = 0; i < 3; i++) await expect(store.validate(token)).rejects.toMatchObject({ code: 'session_store_unavailable' })
    } finally {
      server.thaw()
    }
    expect(health.available()).toBe(false)
    expect(warnings).toHaveLength(1) // once per spell, not once per refused call
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ err: { message: COMMAND_TIMED_OUT }, msg: expect.stringMatching(/logins are refused/) })
  })
})

describe('Redis outage', () => {
  it('answers problem documents, never a 500 or a hang, while Redis is dead, and recovers without a restart', async () => {
    const { app, redis } = await appOnOwnRedis()
    const token = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string

    await redis.kill()
    const statuses: number[] = []
    const checks: number[] = []
    for (let i = 0; i < 10; i++) {
      const login = await timed(() => app.inject(jsonLogin('alice', 'right-pass')))
      expect(login.ms).toBeLessThan(1000)
      expect(login.value.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(login.value.json()).toMatchObject({ code: 'session_store_unavailable', retryAfter: 2 })
      const check = await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })
      const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${token}` } })
      statuses.push(login.value.statusCode, logout.statusCode)
      checks.push(check.statusCode)
    }
    expect(new Set(statuses)).toEqual(new Set([503]))
    expect(checks).toEqual([503, ...Array<number>(9).fill(401)]) // the first logout is refused here at once
    const ready = (await app.inject({ url: '/readyz' })).json()
    expect(ready).toMatchObject({ status: 'degraded', checks: { redis: 'down' } })

    await redis.restart()
    expect(await until(async () => (await app.inject(jsonLogin('alice', 'right-pass'))).statusCode === 200, 5000)).toBe(true)
    expect((await app.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'ready', checks: { redis: 'ok' } })
  })

  it('answers a right and a wrong password alike while Redis is dead, without calling the backend', async () => {
    const { app, redis, backend } = await appOnOwnRedis()
    await redis.kill()
    const right = await app.inject(jsonLogin('alice', 'right-pass'))
    const wrong = await app.inject(jsonLogin('alice', 'wrong-pass'))
    expect([right.statusCode, wrong.statusCode]).toEqual([503, 503])
    expect(right.json().code).toBe('session_store_unavailable')
    expect(wrong.json().code).toBe('session_store_unavailable')
    expect(backend.calls()).toBe(0)
  })

  it('answers a right and a wrong password alike while Redis is frozen (no password oracle)', async () => {
    const { app, redis } = await appOnOwnRedis()
    redis.freeze()
    try {
      for (let round = 0; round < 2; round++) {
        // A wrong password first, after a quiet second: nothing else has told the gateway yet.
        await sleep(1100)
        const wrong = await app.inject(jsonLogin('alice', 'wrong-pass'))
        const right = await app.inject(jsonLogin('alice', 'right-pass'))
        expect([wrong.statusCode, right.statusCode]).toEqual([503, 503])
        expect([wrong.json().code, right.json().code]).toEqual(['session_store_unavailable', 'session_store_unavailable'])
      }
    } finally {
      redis.thaw()
    }
  })

  it('fails requests within the command deadline while Redis is frozen, then serves again', async () => {
    const { app, redis } = await appOnOwnRedis()
    const token = (await app.inject(jsonLogin('alice', 'right-pass'))).json().token as string

    redis.freeze()
    try {
      for (let i = 0; i < 5; i++) {
        const login = await timed(() => app.inject(jsonLogin('alice', 'right-pass')))
        expect(login.value.json().code).toBe('session_store_unavailable')
        expect(login.ms).toBeLessThan(350)
        const check = await timed(() => app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } }))
        expect(check.value.statusCode).toBe(503)
        expect(check.ms).toBeLessThan(350)
      }
    } finally {
      redis.thaw()
    }
    expect(await until(async () => (await app.inject({ url: '/auth/session', headers: { authorization: `Bearer ${token}` } })).statusCode === 200, 5000)).toBe(true)
  })

  it('starts while Redis is down and serves once it comes up', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    await redis.kill()
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, REDIS_URL: redis.url, REDIS_CONNECT_TIMEOUT_MS: '200' } })
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('session_store_unavailable')
    await redis.restart()
    expect(await until(async () => (await app.inject(jsonLogin('alice', 'right-pass'))).statusCode === 200, 5000)).toBe(true)
  })
})
