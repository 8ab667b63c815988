import { describe, expect, it } from 'vitest'
import { computeSignals } from '../../src/bots/signals.js'
import { createGlobalFailures } from '../../src/bots/global-failures.js'
import { createVelocity } from '../../src/bots/velocity.js'
import { checkPow, issuePow, leadingZeroBits, solvePow } from '../../src/challenge/pow.js'

const chrome = {
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'application/json',
  'accept-language': 'zh-CN,zh;q=0.9',
  'accept-encoding': 'gzip, deflate, br',
  'sec-fetch-mode': 'cors'
}

describe('signals', () => {
  it('see nothing odd in a real browser', () => {
    const s = computeSignals(chrome, { username: 'a', password: 'b' })
    expect(s.ua).toEqual({ bot: false, missing: false, malformed: false, browser: true })
    expect(s.anomalies).toEqual([])
    expect(s.honeypot).toBe(false)
  })

  it('flag declared bots, missing and malformed user agents', () => {
    expect(computeSignals({ 'user-agent': 'curl/8.5.0', accept: '*/*' }, {}).ua).toMatchObject({ bot: true, browser: false })
    expect(computeSignals({}, {}).ua).toMatchObject({ missing: true, bot: false })
    expect(computeSignals({ 'user-agent': 'hello there' }, {}).ua.malformed).toBe(true)
    expect(computeSignals({ 'user-agent': 'MyLender/4.2.0 (iPhone; iOS 18.1)' }, {}).ua).toMatchObject({ malformed: false, browser: false })
  })

  it('flag headers a claimed browser would have sent, and a filled honeypot', () => {
    const script = computeSignals({ 'user-agent': chrome['user-agent'], accept: '*/*' }, { website: 'http://spam' })
    expect(script.anomalies).toEqual(expect.arrayContaining(['missing_accept_language', 'browser_without_accept_language', 'chromium_without_sec_fetch']))
    expect(script.honeypot).toBe(true)
  })

  it('judge a user agent the same every time, from a verdict nobody can change', () => {
    const agents = ['curl/8.5.0', chrome['user-agent'], 'hello there', '']
    // More distinct agents than the verdicts kept: the first ones are judged again, alike.
    for (let round = 0; round < 2; round++) {
      for (const ua of agents) {
        const first = computeSignals({ 'user-agent': ua }, {}).ua
        expect(Object.isFrozen(first)).toBe(true)
        expect(computeSignals({ 'user-agent': ua }, {}).ua).toEqual(first)
      }
      for (let i = 0; i < 5000; i++) computeSignals({ 'user-agent': `Agent/${i}.0` }, {})
    }
    expect(computeSignals({ 'user-agent': 'curl/8.5.0' }, {}).ua.bot).toBe(true)
    expect(computeSignals({ 'user-agent': chrome['user-agent'] }, {}).ua).toEqual({ bot: false, missing: false, malformed: false, browser: true })
  })

  it('keep only the headers rules may test, capped', () => {
    const s = computeSignals({ ...chrome, cookie: 'sid=secret', authorization: 'Bearer x', 'x-long': 'y', referer: 'r'.repeat(2000) }, {})
    expect(Object.keys(s.headers)).not.toContain('cookie')
    expect(Object.keys(s.headers)).not.toContain('authorization')
    expect(s.headers.referer).toHaveLength(512)
  })
})

describe('velocity (in memory)', () => {
  it('counts distinct usernames and the failure ratio per address over a sliding window', async () => {
    let now = 1_000_000
    const v = createVelocity({ redis: null, keyPrefix: 't:', windowS: 600, now: () => now, maxEntries: 1000 })
    for (let i = 0; i < 5; i++) await v.observe({ ipKey: '1.2.3.4', subnet: '1.2.3.0/24', userKey: `u${i % 3}` })
    await v.notFailure({ ipKey: '1.2.3.4', subnet: '1.2.3.0/24', userKey: 'u0' })
    const seen = await v.observe({ ipKey: '1.2.3.4', subnet: '1.2.3.0/24', userKey: 'u9', deviceKey: 'd1' })
    expect(seen).toMatchObject({ usernamesPerIp: 4, attemptsPerIp: 6, attemptsPerUsername: 1, usernamesPerDevice: 1 })
    expect(seen?.failureRatioPerIp).toBeCloseTo(5 / 6)
    now += 700_000 // past the window
    expect(await v.observe({ ipKey: '1.2.3.4', subnet: '1.2.3.0/24', userKey: 'u1' })).toMatchObject({ usernamesPerIp: 1, attemptsPerIp: 1 })
  })

  it('counts a /24 across the addresses rotating inside it', async () => {
    const v = createVelocity({ redis: null, keyPrefix: 't:', windowS: 600, now: () => 1_000_000, maxEntries: 1000 })
    for (let h = 1; h <= 30; h++) await v.observe({ ipKey: `203.0.113.${h}`, subnet: '203.0.113.0/24', userKey: `u${h}` })
    const seen = await v.observe({ ipKey: '203.0.113.99', subnet: '203.0.113.0/24', userKey: 'u99' })
    expect(seen).toMatchObject({ usernamesPerIp: 1, attemptsPerIp: 1, usernamesPerSubnet: 31, attemptsPerSubnet: 31, failureRatioPerSubnet: 1 })
    await v.notFailure({ ipKey: '203.0.113.99', subnet: '203.0.113.0/24', userKey: 'u99' })
    expect((await v.observe({ ipKey: '203.0.113.5', subnet: '203.0.113.0/24', userKey: 'u5' }))?.failureRatioPerSubnet).toBeCloseTo(31 / 32)
  })

  it('keeps the share of failed logins across the replica over the last minute, in process', async () => {
    let now = 5_000_000
    const v = createVelocity({ redis: null, keyPrefix: 't:', windowS: 600, now: () => now, maxEntries: 1000 })
    for (let i = 0; i < 9; i++) v.countGlobal()
    for (let i = 0; i < 3; i++) await v.notFailure({ ipKey: '1.1.1.1', subnet: '1.1.1.0/24', userKey: 'u' })
    expect(v.countGlobal()).toEqual({ globalAttempts: 10, globalFailureRatio: 0.7 })
    now += 30_000
    expect(v.countGlobal().globalAttempts).toBe(11)
    now += 40_000 // the first ten fell out of the minute
    expect(v.countGlobal()).toEqual({ globalAttempts: 2, globalFailureRatio: 1 })
    v.forgetGlobal() // answered by another defence: out of the window
    expect(v.countGlobal()).toEqual({ globalAttempts: 2, globalFailureRatio: 1 })
    await v.notFailure({ ipKey: '1.1.1.1', subnet: '1.1.1.0/24', userKey: 'u' })
    expect(v.countGlobal()).toEqual({ globalAttempts: 3, globalFailureRatio: 2 / 3 })
  })
})

describe('proof of work', () => {
  const secret = 'pow-secret'
  const now = Date.parse('2026-11-22T10:00:00Z')

  it('counts leading zero bits', () => {
    expect(leadingZeroBits(Buffer.from([0, 0, 0x1f]))).toBe(19)
    expect(leadingZeroBits(Buffer.from([0x80]))).toBe(0)
  })

  it('passes a solution for the address it was issued to, before it expires', () => {
    const c = issuePow(secret, '203.0.113.5', now, 10, 60_000)
    const solution = solvePow(c.token, 10)
    expect(checkPow(secret, `${c.token}:${solution}`, '203.0.113.5', now + 1000)).toMatchObject({ ok: true })
    expect(checkPow(secret, `${c.token}:${solution}`, '203.0.113.6', now + 1000)).toEqual({ ok: false, reason: 'foreign' })
    expect(checkPow(secret, `${c.token}:${solution}`, '203.0.113.5', now + 61_000)).toEqual({ ok: false, reason: 'expired' })
    expect(checkPow('other', `${c.token}:${solution}`, '203.0.113.5', now)).toEqual({ ok: false, reason: 'forged' })
    expect(checkPow(secret, `${c.token}:nope!`, '203.0.113.5', now)).toEqual({ ok: false, reason: 'malformed' })
  })

  it('refuses an unsolved or tampered token', () => {
    const c = issuePow(secret, 'a', now, 20, 60_000)
    const [body = '', mac = ''] = c.token.split('.')
    const easier = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), d: 1 })).toString('base64url')
    expect(checkPow(secret, `${easier}.${mac}.1:0`, 'a', now)).toEqual({ ok: false, reason: 'forged' })
    expect(checkPow(secret, `${body}.${mac}:0`, 'a', now)).toEqual({ ok: false, reason: 'malformed' })
    expect(checkPow(secret, `${body}.${mac}.A-1:0`, 'a', now)).toEqual({ ok: false, reason: 'malformed' })
    const wrong = ['0', '1', '2', '3'].find(s => checkPow(secret, `${c.token}:${s}`, 'a', now).ok === false)
    expect(checkPow(secret, `${c.token}:${wrong}`, 'a', now)).toEqual({ ok: false, reason: 'unsolved' })
  })

  it('gives every puzzle for one address its own nonce, even within a second (people behind one NAT)', () => {
    const puzzles = Array.from({ length: 3 }, () => issuePow(secret, '198.51.100.7', now, 16, 60_000))
    const nonces = puzzles.map(c => checkPow(secret, `${c.token}:${solvePow(c.token, 16)}`, '198.51.100.7', now)).map(r => r.ok ? r.nonce : r.reason)
    expect(new Set(nonces).size).toBe(3)
    expect(nonces.every(n => /^[0-9a-f-]{36}\.[0-9a-f]{16}$/.test(n))).toBe(true)
    // Random, not counted: someone behind the same address cannot work out the next one.
    const [s1 = 0n, s2 = 0n, s3 = 0n] = puzzles.map(c => BigInt(`0x${c.token.split('.')[2] ?? ''}`))
    expect([s2 - s1, s3 - s2].every(d => d > 1_000_000n || d < -1_000_000n)).toBe(true)
    // Another suffix on the same signed part is another puzzle: one solution does not answer both.
    const [first, second] = puzzles as [typeof puzzles[0], typeof puzzles[0]]
    const solution = solvePow(first.token, 16)
    expect(checkPow(secret, `${second.token}:${solution}`, '198.51.100.7', now)).toEqual({ ok: false, reason: 'unsolved' })
  })

  it('passes a puzzle for the replica-wide share once, whatever suffix it is given', () => {
    const a = issuePow(secret, '198.51.100.7', now, 8, 60_000, true)
    const b = issuePow(secret, '198.51.100.7', now, 8, 60_000, true)
    const nonceOf = (token: string) => {
      const r = checkPow(secret, `${token}:${solvePow(token, 8)}`, '198.51.100.7', now)
      return r.ok && r.forGlobal ? r.nonce : r
    }
    const variant = a.token.replace(/\.[0-9a-z]+$/, '.zz9')
    expect(variant).not.toBe(a.token)
    // Another suffix on its signed part is the same puzzle for single use: one nonce.
    expect(nonceOf(variant)).toBe(nonceOf(a.token))
    // Each such puzzle is signed alone: two of them never share a nonce.
    expect(nonceOf(b.token)).not.toBe(nonceOf(a.token))
  })
})

describe('global failures: refusals kept per address', () => {
  it('keeps three refusals per address and window, and three more in the next window', () => {
    const clock = { now: Date.parse('2026-12-07T08:00:00.400Z') }
    const g = createGlobalFailures(60_000, () => clock.now, 100)
    expect([1, 2, 3, 4, 5].map(() => g.keepRefusal('ip:a'))).toEqual([true, true, true, false, false])
    expect(g.keepRefusal('ip:b')).toBe(true) // each address counts alone
    clock.now += 58_000
    expect(g.keepRefusal('ip:a')).toBe(false)
    clock.now += 3_000
    expect([1, 2, 3, 4].map(() => g.keepRefusal('ip:a'))).toEqual([true, true, true, false])
  })

  it('tracks at most maxAddresses addresses: the oldest start over', () => {
    const clock = { now: Date.parse('2026-12-07T08:00:00Z') }
    const g = createGlobalFailures(60_000, () => clock.now, 2)
    for (let i = 0; i < 3; i++) g.keepRefusal('ip:a')
    expect(g.keepRefusal('ip:a')).toBe(false)
    g.keepRefusal('ip:b')
    g.keepRefusal('ip:c') // ip:a, the oldest, goes
    expect(g.keepRefusal('ip:a')).toBe(true)
    expect(g.keepRefusal('ip:c')).toBe(true)
  })
})
