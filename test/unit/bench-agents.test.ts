import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { leadingZeroBits } from '../../src/challenge/pow.js'
import { readAnswer } from '../../bench/measure/classify.js'
import { createRecorder } from '../../bench/measure/recorder.js'
import { buildAccounts, createAccountPool } from '../../bench/traffic/account-pool.js'
import { honestAddress, proxyPool, seededRandom } from '../../bench/traffic/addresses.js'
import { createBruteForceAgent, createStuffingAgent } from '../../bench/traffic/attack-agents.js'
import { createHonestAgent, type Mailbox } from '../../bench/traffic/honest-agent.js'
import { hasSecondFactor, honestPassword, pickHonestIndices, pumpPhone, verifyCredentials } from '../../bench/traffic/population.js'
import { createPumpAgent } from '../../bench/traffic/pump-agent.js'
import { BLOCKED } from '../../bench/scenarios/overhead.js'
import { attackerAddresses, MEASURED_ATTACKERS, pumpAccounts, WARM_UP_ATTACKERS } from '../../bench/scenarios/traffic-kit.js'

const json = (status: number, body: unknown, headers: Record<string, string | string[]> = {}) => readAnswer(status, JSON.stringify(body), headers)

function honestSetup (indices: number[], options: { once?: boolean, mailbox?: Map<string, string> } = {}) {
  let clock = 1000
  const recorder = createRecorder(() => clock)
  recorder.start()
  const pool = createAccountPool(buildAccounts({ indices, natShare: 0, natAddresses: 0, formShare: 0, seed: 1 }))
  const box = options.mailbox ?? new Map<string, string>()
  const mailbox: Mailbox = { take: d => { const c = box.get(d); box.delete(d); return c } }
  const agent = createHonestAgent({ pool, recorder, mailbox, target: 'gateway', clock: () => clock, maxWaitS: 30, once: options.once ?? false })
  return { agent, pool, recorder, box, tick: (ms: number) => { clock += ms } }
}

describe('the account directory', () => {
  it('is one answer for an unknown user and a wrong password, and gives a second factor to a fifth of the users', () => {
    expect(verifyCredentials('h11', honestPassword(11))).toEqual({ status: 200, body: { userId: 'u-h11', mfa: { phone: '+8613800000011', email: 'h11@mail.example' } } })
    expect(verifyCredentials('h13', honestPassword(13))).toEqual({ status: 200, body: { userId: 'u-h13' } })
    expect(verifyCredentials('h13', 'nope')).toEqual(verifyCredentials('nobody', 'nope'))
    expect(verifyCredentials('pump3', 'pw-pump-3')).toEqual({ status: 200, body: { userId: 'u-pump3', mfa: { phone: pumpPhone(3) } } })
    const picked = pickHonestIndices(1000, 0.5)
    expect(picked).toHaveLength(1000)
    expect(new Set(picked).size).toBe(1000)
    expect(picked.filter(hasSecondFactor)).toHaveLength(500)
    expect(pickHonestIndices(100, 0).some(hasSecondFactor)).toBe(false)
  })

  it('spreads honest users over many /24s and puts a stable share behind NAT', () => {
    const homes = Array.from({ length: 20_000 }, (_, i) => honestAddress(i, 0, 0))
    expect(new Set(homes).size).toBe(20_000)
    const subnets = new Set(homes.map(a => a.split('.').slice(0, 3).join('.')))
    expect(subnets.size).toBe(8192)
    const natted = Array.from({ length: 10_000 }, (_, i) => honestAddress(i, 0.1, 64)).filter(a => a.startsWith('100.64.'))
    expect(natted.length).toBeGreaterThan(900)
    expect(natted.length).toBeLessThan(1100)
    expect(new Set(natted).size).toBe(64)
    expect(honestAddress(77, 0.1, 64)).toBe(honestAddress(77, 0.1, 64))
    expect(proxyPool(4, [203, 0])).toHaveLength(4 * 254)
  })

  it('gives two populations no home address in common (a warm-up\'s and the measured one)', () => {
    const homes = (offset: number) => buildAccounts({ indices: pickHonestIndices(2000, 0.2, offset), natShare: 0.1, natAddresses: 64, formShare: 0, seed: 1 })
      .map(a => a.address).filter(a => !a.startsWith('100.64.'))
    const measured = new Set(homes(0))
    expect(measured.size).toBeGreaterThan(1500)
    expect(homes(500_000).filter(a => measured.has(a))).toEqual([])
  })
})

describe('an honest user', () => {
  it('solves a proof-of-work challenge as the web app does and sends the same login again, at most twice', () => {
    const { agent, recorder } = honestSetup([13])
    const first = agent.next()
    const challenge = { type: 'pow', algorithm: 'sha256', token: 'tok.en', difficulty: 8 }
    agent.answer(json(403, { code: 'challenge_required', challenge }), 5)
    const again = agent.next()
    expect(again.body).toBe(first.body)
    const [scheme, rest = ''] = (again.headers['x-challenge-response'] ?? '').split(' ')
    expect(scheme).toBe('pow')
    const [token, solution = ''] = rest.split(':')
    expect(token).toBe('tok.en')
    expect(leadingZeroBits(createHash('sha256').update(`tok.en:${solution}`).digest())).toBeGreaterThanOrEqual(8)
    agent.answer(json(200, { status: 'authenticated', userId: 'u-h13', token: 't' }), 5)
    expect(recorder.flows.map(f => f.ok)).toEqual([true])

    for (let i = 0; i < 3; i++) { agent.next(); agent.answer(json(403, { code: 'challenge_required', challenge }), 5) }
    expect(recorder.flows.map(f => [f.ok, f.code])).toEqual([[true, 'authenticated'], [false, 'challenge_required']])
  })

  it('logs in with browser headers, finishes the second factor with the delivered code, and keeps the device cookie', () => {
    const { agent, recorder, box } = honestSetup([10])
    const login = agent.next()
    expect(login).toMatchObject({ step: 'login', method: 'POST', path: '/auth/login' })
    expect(login.headers['user-agent']).toMatch(/Mozilla/)
    expect(login.headers['x-forwarded-for']).toBe(honestAddress(10, 0, 0))
    expect(login.headers.cookie).toBeUndefined()
    expect(JSON.parse(login.body ?? '')).toEqual({ username: 'h10', password: honestPassword(10) })

    agent.answer(json(200, { status: 'otp_required', challengeId: 'c'.repeat(32), channels: ['sms', 'voice', 'email'] }), 5)
    const send = agent.next()
    expect(send.path).toBe('/auth/otp/send')
    expect(JSON.parse(send.body ?? '')).toEqual({ challengeId: 'c'.repeat(32), channel: 'sms' })
    box.set('+8613800000010', '123456') // what the SMS provider delivered
    agent.answer(json(200, { status: 'sent', channel: 'sms' }), 7)
    const verify = agent.next()
    expect(JSON.parse(verify.body ?? '')).toEqual({ challengeId: 'c'.repeat(32), code: '123456' })
    agent.answer(json(200, { status: 'authenticated' }, { 'set-cookie': 'did=device-1.sig; Path=/auth; HttpOnly' }), 9)

    expect(recorder.flows).toEqual([expect.objectContaining({ cls: 'honest', ok: true, code: 'authenticated', waitedMs: 21, blocked: false })])
    const again = agent.next()
    expect(again.headers.cookie).toBe('did=device-1.sig')
  })

  it('takes the alternative channel when SMS cannot be delivered', () => {
    const { agent, recorder, box } = honestSetup([10])
    agent.next()
    agent.answer(json(200, { status: 'otp_required', challengeId: 'c'.repeat(32), channels: ['sms', 'voice', 'email'] }), 1)
    agent.next()
    agent.answer(json(503, { code: 'otp_delivery_failed', alternatives: ['voice', 'email'] }, { 'retry-after': '5' }), 1)
    const retry = agent.next()
    expect(JSON.parse(retry.body ?? '')).toMatchObject({ channel: 'voice' })
    box.set('+8613800000010', '654321')
    agent.answer(json(200, { status: 'sent', channel: 'voice' }), 1)
    expect(JSON.parse(agent.next().body ?? '')).toMatchObject({ code: '654321' })
    agent.answer(json(200, { status: 'authenticated' }), 1)
    expect(recorder.flows.map(f => f.ok)).toEqual([true])
  })

  it('obeys Retry-After: the user waits, the connection idles, then the user comes back', () => {
    const { agent, recorder, tick } = honestSetup([11])
    agent.next()
    agent.answer(json(429, { code: 'too_many_attempts' }, { 'retry-after': '3' }), 2)
    expect(recorder.flows).toEqual([expect.objectContaining({ ok: false, code: 'too_many_attempts', blocked: true })])
    expect(agent.next()).toMatchObject({ step: 'idle', path: '/healthz' })
    agent.answer(json(200, { status: 'ok' }), 1)
    tick(2999)
    expect(agent.next().step).toBe('idle')
    tick(1)
    expect(agent.next().step).toBe('login')
  })

  it('in a crowd, logs in once and is done; a lost request ends the flow as a transport failure', () => {
    const { agent, pool, recorder } = honestSetup([11, 13], { once: true })
    agent.next()
    agent.lost(10_000)
    expect(recorder.flows[0]).toMatchObject({ ok: false, code: 'transport', waitedMs: 10_000 })
    expect(pool.remaining()).toBe(2)
    agent.next()
    agent.answer(json(200, { status: 'authenticated' }), 1)
    expect(pool.remaining()).toBe(1)
    agent.next()
    agent.answer(json(200, { status: 'authenticated' }), 1)
    expect(pool.remaining()).toBe(0)
    expect(agent.next().step).toBe('idle')
  })

  it('is lent to one connection at a time', () => {
    const { pool } = honestSetup([11])
    const first = pool.checkout(0)
    expect(first).toBeDefined()
    expect(pool.checkout(0)).toBeUndefined()
    if (first !== undefined) pool.checkin(first)
    expect(pool.checkout(0)).toBe(first)
  })
})

describe('the attackers', () => {
  it('rehearse from networks and accounts of their own: nothing the warm-up counts is counted for the measured attack', () => {
    const network = (address: string) => address.replace(/\.\d+$/, '')
    const networks = (r: typeof MEASURED_ATTACKERS) => new Set(Object.values(attackerAddresses(r)).flat().map(network))
    const measured = networks(MEASURED_ATTACKERS)
    const rehearsal = networks(WARM_UP_ATTACKERS)
    expect(measured.size).toBeGreaterThan(0)
    expect([...rehearsal].filter(n => measured.has(n))).toEqual([])
    // overhead's blocked hosts are no attacker's either (they matter against a --target gateway).
    for (const n of BLOCKED.map(network)) expect(measured.has(n) || rehearsal.has(n)).toBe(false)
    const numbers = (r: typeof MEASURED_ATTACKERS) => pumpAccounts(r).map(pumpPhone)
    expect(new Set([...numbers(MEASURED_ATTACKERS), ...numbers(WARM_UP_ATTACKERS)]).size).toBe(40)
  })

  it('stuff leaked pairs from rotating addresses, reproducibly for a seed', () => {
    const addresses = proxyPool(4, [203, 0])
    const make = () => createStuffingAgent({ random: seededRandom(42), addresses, knownUsernames: ['h1', 'h2'], knownShare: 0.25 })
    const a = Array.from({ length: 200 }, make().next)
    const b = Array.from({ length: 200 }, make().next)
    expect(a).toEqual(b)
    expect(new Set(a.map(r => r.headers['x-forwarded-for'])).size).toBeGreaterThan(150)
    const known = a.filter(r => /"username":"h[12]"/.test(r.body ?? '')).length
    expect(known).toBeGreaterThan(25)
    expect(known).toBeLessThan(80)
  })

  it('brute force cycles passwords over a few target accounts from a few addresses', () => {
    const agent = createBruteForceAgent({ random: seededRandom(1), targets: ['h1', 'h2'], addresses: ['198.18.20.10', '198.18.20.11'] })
    const bodies = Array.from({ length: 10 }, () => JSON.parse(agent.next().body ?? '') as { username: string, password: string })
    expect(new Set(bodies.map(b => b.username))).toEqual(new Set(['h1', 'h2']))
    expect(new Set(bodies.map(b => b.password)).size).toBe(10)
  })

  it('pumps SMS: log in, then ask for codes by SMS and voice, then start over', () => {
    const agent = createPumpAgent({ random: seededRandom(3), accounts: [1], addresses: ['185.220.113.1'] })
    expect(agent.next()).toMatchObject({ step: 'login', body: JSON.stringify({ username: 'pump1', password: 'pw-pump-1' }) })
    agent.answer(json(200, { status: 'otp_required', challengeId: 'p'.repeat(32) }), 1)
    const channels = []
    for (let i = 0; i < 4; i++) {
      const send = agent.next()
      expect(send.step).toBe('otp_send')
      channels.push((JSON.parse(send.body ?? '') as { channel: string }).channel)
      agent.answer(json(429, { code: 'too_many_attempts' }, { 'retry-after': '60' }), 1)
    }
    expect(channels).toEqual(['sms', 'voice', 'sms', 'voice'])
    expect(agent.next().step).toBe('login')
  })
})
