// The yardstick, run beside the gateway in the overhead scenario: a naive Node login
// gateway (Fastify, @fastify/rate-limit on Redis, undici forwarding to the backend's /verify; one
// limiter, no sessions, no bot signals, no rules). PORT, HOST, AUTH_BACKEND_URL and REDIS_URL
// from the environment; prints one JSON line with its URL once listening; exits on SIGTERM.
import rateLimit from '@fastify/rate-limit'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { Pool } from 'undici'

const backendUrl = process.env.AUTH_BACKEND_URL ?? 'http://127.0.0.1:8081'
const backend = new Pool(backendUrl, { connections: 128 })
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })

const app = Fastify({ logger: false, trustProxy: true })
// One limiter per client address; large enough that the bench's honest users never meet it.
await app.register(rateLimit, { redis, max: 1_000_000, timeWindow: '1 minute', nameSpace: 'naive-rl:' })
app.get('/healthz', { config: { rateLimit: false } }, async () => ({ status: 'ok' }))
app.post('/auth/login', async (request, reply) => {
  const res = await backend.request({ path: '/verify', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.body) })
  reply.code(res.statusCode).type('application/json')
  return await res.body.text()
})

const url = await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ listening: url })}\n`)
const stop = () => {
  app.close().then(async () => { await backend.close(); redis.disconnect() }, () => undefined)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
