import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { spawnGateway, waitForOutput } from '../helpers/gateway-process.js'
import { webhookProvider, webhookSink } from '../helpers/otp-webhook-sink.js'
import { startRedisServer, freePort } from '../helpers/redis-server.js'
import { startRedisCluster, startRedisSentinels } from '../helpers/redis-topologies.js'
import { buildTestApp, jsonLogin, TEST_ENV } from '../helpers/test-app.js'

const ADMIN = 'scale-admin-token-0123456789abcd'
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('Redis Cluster', () => {
  it('runs the whole login, one-time code and session flow on three masters', async () => {
    const cluster = await startRedisCluster(3)
    const backend = await fakeBackendForTest()
    const sms = await webhookSink()
    const app = await buildTestApp({
      env: {
        REDIS_URL: '',
        REDIS_CLUSTER_NODES: cluster.seeds,
        AUTH_BACKEND_URL: backend.url,
        ADMIN_TOKEN: ADMIN,
        OTP_PROVIDERS: JSON.stringify([webhookProvider('sms1', sms, ['sms'], 1)]),
        LIMITS: JSON.stringify({ user_ip_failures: { points: 3, windowS: 600, blockS: 60 } })
      }
    })
    expect((await app.inject({ url: '/readyz' })).json().checks.redis).toBe('ok')

    const tokens: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await app.inject(jsonLogin('alice', 'right-pass'))
      expect(res.statusCode).toBe(200)
      tokens.push(res.json().token as string)
    }
    expect((await app.inject({ url: '/auth/session', headers: bearer(tokens[0] ?? '') })).json()).toMatchObject({ status: 'active', userId: 'u-alice' })
    expect((await app.inject({ url: '/auth/sessions', headers: bearer(tokens[0] ?? '') })).json().sessions).toHaveLength(3)

    const challengeId = (await app.inject(jsonLogin('bob', 'bob-pass'))).json().challengeId as string
    expect((await app.inject({ method: 'POST', url: '/auth/otp/send', payload: { challengeId } })).statusCode).toBe(200)
    const verified = await app.inject({ method: 'POST', url: '/auth/otp/verify', payload: { challengeId, code: sms.delivered[0]?.code } })
    expect(verified.json()).toMatchObject({ status: 'authenticated', userId: 'u-bob' })

    const codes = []
    for (let i = 0; i < 4; i++) codes.push((await app.inject({ ...jsonLogin('carol', 'guess'), remoteAddress: '198.51.100.5' })).statusCode)
    expect(codes).toEqual([401, 401, 401, 429])

    expect((await app.inject({ method: 'POST', url: '/auth/logout?all=true', headers: bearer(tokens[1] ?? '') })).json()).toEqual({ status: 'logged_out', ended: 3 })
    expect((await app.inject({ url: '/auth/session', headers: bearer(tokens[2] ?? '') })).statusCode).toBe(401)
    expect((await app.inject({ method: 'PUT', url: '/admin/maintenance', headers: bearer(ADMIN), payload: { until: new Date(Date.now() + 60_000).toISOString() } })).json().phase).toBe('active')

    // The keys really are spread over the three masters.
    const perNode = await Promise.all(cluster.nodes.map(async n => {
      const client = new Redis(n.port, '127.0.0.1')
      try { return await client.dbsize() } finally { client.disconnect() }
    }))
    expect(perNode.filter(count => count > 0).length).toBe(3)
  })
})

describe('Redis Sentinel', () => {
  it('follows a new master after the old one dies during a stream of logins: no 500s, no hangs', async () => {
    const topology = await startRedisSentinels()
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({
      env: { REDIS_URL: '', REDIS_SENTINELS: topology.sentinels, REDIS_SENTINEL_MASTER: topology.name, AUTH_BACKEND_URL: backend.url, REDIS_CONNECT_TIMEOUT_MS: '2000' }
    })
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)

    const statuses: number[] = []
    let slowest = 0
    let killedAt = 0
    let recoveredAt = 0
    let forced = false
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if (killedAt === 0 && statuses.length >= 10) {
        await topology.master.kill()
        killedAt = Date.now()
      }
      // On a loaded machine the sentinels' own agreement sometimes took longer than this test
      // (seen in the full suite, never alone); forcing the promotion keeps what is under test:
      // the gateway following the master the sentinels name.
      if (killedAt > 0 && !forced && Date.now() - killedAt > 8000 && await topology.currentMasterPort() !== topology.replica.port) {
        forced = true
        await topology.forceFailover()
      }
      const started = performance.now()
      const res = await app.inject(jsonLogin('alice', 'right-pass'))
      slowest = Math.max(slowest, performance.now() - started)
      statuses.push(res.statusCode)
      if (killedAt > 0 && res.statusCode === 200 && statuses.slice(-1)[0] === 200 && statuses.some(s => s === 503)) {
        recoveredAt = Date.now()
        break
      }
      await sleep(50)
    }
    expect(statuses.every(s => s === 200 || s === 503)).toBe(true)
    expect(statuses).toContain(503) // the switch was seen, and answered clearly
    expect(recoveredAt).toBeGreaterThan(0)
    expect(slowest).toBeLessThan(3000)
    // The sentinel asked here may learn of the promotion by gossip after the gateway has
    // already followed it (seen in CI): wait, bounded, for it to name the replica.
    expect(await topology.waitForMasterPort(topology.replica.port, 10_000)).toBe(topology.replica.port)
    expect((await app.inject(jsonLogin('alice', 'right-pass'))).statusCode).toBe(200)
  }, 60_000)
})

describe('many replicas', () => {
  it('two gateway processes on one Redis admit no more attempts for one key than its budget', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const backend = await fakeBackendForTest()
    const env = {
      AUTH_BACKEND_URL: backend.url,
      REDIS_URL: redis.url,
      GATEWAY_SECRET: 'replicas-secret-0123456789abcdefghij',
      RULES_FILE: TEST_ENV.RULES_FILE ?? '',
      TRUST_PROXY: 'true',
      LIMITS: JSON.stringify({ ip_attempts: { points: 6, windowS: 60 } })
    }
    const ports = [await freePort(), await freePort()]
    const gateways = ports.map(port => spawnGateway({ ...env, PORT: String(port) }))
    await Promise.all(gateways.map(g => waitForOutput(g, /Server listening/)))
    let admitted = 0
    for (let i = 0; i < 16; i++) {
      const res = await fetch(`http://127.0.0.1:${ports[i % 2]}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.44' },
        body: JSON.stringify({ username: `user${i}`, password: 'wrong' })
      })
      await res.arrayBuffer()
      if (res.status !== 429) admitted++
    }
    expect(admitted).toBe(6)
    for (const g of gateways) g.child.kill('SIGTERM')
    expect(await Promise.all(gateways.map(g => g.exited))).toEqual([0, 0])
  }, 60_000)

  it('share the backend breaker on request: others open without paying timeouts, and one probes at a time', async () => {
    const backend = await fakeBackendForTest(() => ({ status: 500 }))
    const env = {
      AUTH_BACKEND_URL: backend.url,
      REDIS_KEY_PREFIX: `t:breaker${Date.now()}:`,
      BREAKER_SHARED: 'true',
      BREAKER_SHARED_QUORUM: '1',
      BREAKER_VOLUME_THRESHOLD: '3',
      BREAKER_RESET_TIMEOUT_MS: '1500'
    }
    const [a, b] = [await buildTestApp({ env }), await buildTestApp({ env })]
    if (a === undefined || b === undefined) throw new Error('two apps expected')
    for (let i = 0; i < 3; i++) await a.inject(jsonLogin('alice', 'right-pass'))
    expect((await a.inject({ url: '/readyz' })).json().checks.authBackend).toBe('open')
    let bOpen = false
    for (let i = 0; i < 30 && !bOpen; i++) {
      await sleep(100)
      bOpen = (await b.inject({ url: '/readyz' })).json().checks.authBackend === 'open'
    }
    expect(bOpen).toBe(true)
    const calls = backend.calls()
    expect((await b.inject(jsonLogin('alice', 'right-pass'))).json().code).toBe('auth_unavailable')
    expect(backend.calls()).toBe(calls) // b never paid for the outage itself

    backend.script(() => ({ status: 200, body: { userId: 'u-alice' } }))
    await sleep(1700) // both reset timers run out; one replica takes the probe
    await Promise.all([a.inject(jsonLogin('alice', 'right-pass')), b.inject(jsonLogin('alice', 'right-pass'))])
    expect(backend.calls()).toBe(calls + 1)
    let bothClosed = false
    for (let i = 0; i < 40 && !bothClosed; i++) {
      await sleep(100)
      const states = await Promise.all([a, b].map(async app => (await app.inject({ url: '/readyz' })).json().checks.authBackend as string))
      bothClosed = states.every(s => s === 'closed')
    }
    expect(bothClosed).toBe(true)
  }, 30_000)
})
