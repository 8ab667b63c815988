import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { type FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { type BackendScript, fakeBackendForTest } from '../helpers/fake-auth-backend.js'
import { buildTestApp } from '../helpers/test-app.js'

async function listening (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return `http://127.0.0.1:${port}`
}

async function login (base: string, username: string, password: string) {
  const started = performance.now()
  const res = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  await res.arrayBuffer()
  return { status: res.status, ms: performance.now() - started }
}

describe('slow clients', () => {
  it('disconnects a slowloris client after the header timeout while normal logins go on', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' } })
    const base = await listening(app)
    const port = Number(new URL(base).port)

    const socket = connect(port, '127.0.0.1')
    let closedAt = 0
    let answer = ''
    socket.on('data', d => { answer += d.toString() })
    const closed = new Promise<void>(resolve => socket.on('close', () => { closedAt = performance.now(); resolve() }))
    socket.on('error', () => {})
    const openedAt = performance.now()
    socket.write('POST /auth/login HTTP/1.1\r\nHost: x\r\n')
    // One header byte every 100 ms: never completes, but never idle long enough for a socket timeout.
    const drip = setInterval(() => { if (!socket.destroyed) socket.write('X') }, 100)

    const logins = []
    for (let i = 0; i < 10; i++) {
      logins.push(await login(base, 'alice', 'right-pass'))
      await sleep(50)
    }
    await Promise.race([closed, sleep(5000)])
    clearInterval(drip)
    socket.destroy()

    expect(closedAt, 'the slow client was never disconnected').toBeGreaterThan(0)
    expect(closedAt - openedAt).toBeLessThan(2500)
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
    expect(answer).toMatch(/content-type: application\/problem\+json/)
    expect(answer).toMatch(/x-request-id: [0-9a-f-]{36}/)
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'request_timeout', status: 408 })
    expect(logins.map(l => l.status)).toEqual(Array(10).fill(200))
  })

  it('cuts off a client that sends its body too slowly', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url, HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' } })
    const port = Number(new URL(await listening(app)).port)
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    const openedAt = performance.now()
    const closed = new Promise<number>(resolve => socket.on('close', () => resolve(performance.now())))
    socket.write('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{')
    const drip = setInterval(() => { if (!socket.destroyed) socket.write(' ') }, 100)
    const closedAt = await Promise.race([closed, sleep(5000).then(() => 0)])
    clearInterval(drip)
    socket.destroy()
    expect(closedAt).toBeGreaterThan(0)
    expect(closedAt - openedAt).toBeLessThan(3000)
  })
})

describe('requests that never became requests', () => {
  it('answer a malformed request line with an invalid_request problem document', async () => {
    const backend = await fakeBackendForTest()
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url } })
    const port = Number(new URL(await listening(app)).port)
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', d => { answer += d.toString() })
    socket.on('error', () => {})
    const closed = new Promise<void>(resolve => socket.on('close', () => resolve()))
    socket.write('NOT A REQUEST\r\n\r\n')
    await Promise.race([closed, sleep(3000)])
    socket.destroy()
    expect(answer).toMatch(/^HTTP\/1\.1 400/)
    expect(answer).toMatch(/x-request-id: [0-9a-f-]{36}/)
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'invalid_request', status: 400 })
  })
})

describe('account enumeration by timing', () => {
  it('takes as long to refuse an unknown user as a wrong password (medians over randomised attempts)', async () => {
    // Equal backend delays for both: any difference would come from the gateway itself.
    const script: BackendScript = () => ({ status: 401, body: { error: 'invalid_credentials' }, delayMs: 3 })
    const backend = await fakeBackendForTest(script)
    const app = await buildTestApp({ env: { AUTH_BACKEND_URL: backend.url } })
    const base = await listening(app)

    const kinds = Array.from({ length: 300 }, (_, i) => i % 2 === 0 ? 'unknown' as const : 'wrong' as const)
    kinds.sort(() => Math.random() - 0.5)
    for (let i = 0; i < 20; i++) await login(base, 'alice', 'warm-up') // JIT and connection pool
    const times: Record<'unknown' | 'wrong', number[]> = { unknown: [], wrong: [] }
    for (const [i, kind] of kinds.entries()) {
      const res = await login(base, kind === 'unknown' ? `nobody-${i}` : 'alice', `wrong-${i}`)
      expect(res.status).toBe(401)
      times[kind].push(res.ms)
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
    const unknown = median(times.unknown)
    const wrong = median(times.wrong)
    // Randomised interleaving shares the machine's noise between both; medians shrug off outliers.
    // A 1 ms difference on a ~5 ms answer fails this (measured: equal paths differ by ~0.1 ms).
    expect(Math.abs(unknown - wrong)).toBeLessThan(Math.min(unknown, wrong) * 0.1 + 0.4)
  })
})
