import { describe, expect, it } from 'vitest'
import { judgeSession, pickEvictions, retentionMs, touchSession } from '../../src/session/session-policy.js'
import { newSessionToken, parseSessionToken, userTag } from '../../src/session/session-token.js'

const policy = { idleMs: 1000, absoluteMs: 5000, maxPerUser: 2 }
const record = { id: 's1', userId: 'u1', createdAt: 10_000, lastSeenAt: 10_000 }

describe('judgeSession', () => {
  it('keeps a session alive until its idle timeout, which slides with use', () => {
    expect(judgeSession(record, 10_999, policy)?.expiresAt).toBe(11_000)
    expect(judgeSession(record, 11_000, policy)).toBeNull()
    const used = touchSession(record, 10_900)
    expect(judgeSession(used, 11_500, policy)?.expiresAt).toBe(11_900)
  })

  it('ends a session at its absolute timeout however active it is', () => {
    let r = record
    for (let t = 10_500; t < 15_000; t += 500) {
      expect(judgeSession(r, t, policy), `at ${t}`).not.toBeNull()
      r = touchSession(r, t)
    }
    expect(judgeSession(r, 15_000, policy)).toBeNull()
    expect(judgeSession(touchSession(record, 14_800), 14_900, policy)?.expiresAt).toBe(15_000)
  })

  it('never moves lastSeen backwards and keeps records as long as they can live', () => {
    expect(touchSession(record, 5).lastSeenAt).toBe(10_000)
    expect(retentionMs(record, 10_200, policy)).toBe(800)
  })
})

describe('pickEvictions', () => {
  it('evicts the oldest sessions past the cap and never the new one', () => {
    const live = [{ id: 'c', createdAt: 3 }, { id: 'a', createdAt: 1 }, { id: 'b', createdAt: 2 }, { id: 'new', createdAt: 0 }]
    expect(pickEvictions(live, 2, 'new')).toEqual(['a', 'b'])
    expect(pickEvictions(live.slice(0, 2), 2, 'new')).toEqual([])
  })
})

describe('session tokens', () => {
  it('carry 256 random bits after the user tag and are stored by hash only', () => {
    const a = newSessionToken('secret', 'u1')
    const b = newSessionToken('secret', 'u1')
    expect(a.token).not.toBe(b.token)
    expect(a.tag).toBe(userTag('secret', 'u1'))
    expect(userTag('other secret', 'u1')).not.toBe(a.tag) // nobody without the secret can tell the owner
    expect(Buffer.from(a.token.split('.')[1] as string, 'base64url')).toHaveLength(32)
    expect(a.id).not.toContain(a.token.split('.')[1])
    expect(parseSessionToken(a.token)).toEqual({ tag: a.tag, id: a.id })
  })

  it('rejects anything that is not a token', () => {
    for (const junk of ['', 'abc', `${'a'.repeat(16)}.short`, `${'a'.repeat(16)}.${'b'.repeat(43)}x`, `${'a'.repeat(16)}:${'b'.repeat(43)}`]) {
      expect(parseSessionToken(junk), junk).toBeNull()
    }
  })
})
