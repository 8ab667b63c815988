import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors.js'
import { createMetrics } from '../../src/infra/metrics.js'
import { createMemorySessionStore } from '../../src/session/memory-session-store.js'
import { withSessionGrace } from '../../src/session/session-grace.js'
import { type SessionStore } from '../../src/session/session-store.js'

const policy = { idleMs: 3_600_000, absoluteMs: 86_400_000, maxPerUser: 10 }
const silent = { debug () {}, info () {}, warn () {}, error () {} }

/** The grace layer over the in-memory store, with a switch that makes the store answer as Redis does when it is out. */
function graced (graceMs: number, maxEntries: number) {
  const clock = { now: Date.parse('2026-12-07T08:00:00Z') }
  const now = () => clock.now
  const memory = createMemorySessionStore({ secret: 'grace-test-secret-0123456789abcdef', policy, now })
  const state = { down: false }
  const outage = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    if (state.down) throw new GatewayError('session_store_unavailable')
    return await fn(...a)
  }
  const store: SessionStore = { issue: outage(memory.issue), validate: outage(memory.validate), revoke: outage(memory.revoke), list: outage(memory.list), revokeAll: outage(memory.revokeAll) }
  const metrics = createMetrics()
  const grace = withSessionGrace(store, { graceMs, maxEntries, policy, metrics, now, log: silent })
  const copies = async () => Number(/^lg_session_grace_copies (\d+)$/m.exec(await metrics.registry.metrics())?.[1])
  return { grace, clock, state, copies }
}

describe('session grace', () => {
  it('serves a copy of the session while the store is out, with the user and times Redis gave', async () => {
    const { grace, clock, state } = graced(60_000, 100)
    const { token, session } = await grace.issue('u-1')
    clock.now += 5_000
    state.down = true
    const view = await grace.validate(token)
    expect(view).toMatchObject({ id: session.id, userId: 'u-1', createdAt: session.createdAt, lastSeenAt: clock.now })
    expect(view?.expiresAt).toBe(clock.now + policy.idleMs)
    grace.close()
  })

  it('keeps a copy\'s times to 10 ms, rounded towards an earlier end, never a later one', async () => {
    const { grace, clock, state } = graced(1_000, 100)
    clock.now += 7 // an issue time that is no whole tick
    const { token, session } = await grace.issue('u-1')
    state.down = true
    clock.now += 3
    const view = await grace.validate(token)
    expect(view?.createdAt).toBe(session.createdAt - 7)
    expect(view?.lastSeenAt).toBe(clock.now)
    clock.now += 994 // 997 ms after the issue, but 1 004 ms after the copy's rounded time: past the grace
    await expect(grace.validate(token)).rejects.toMatchObject({ code: 'session_store_unavailable' })
    grace.close()
  })

  it('drops copies once they are past the grace period, without waiting for the map to fill', async () => {
    const { grace, clock, state, copies } = graced(1_000, 100)
    const first = await grace.issue('u-1')
    await grace.issue('u-2')
    clock.now += 600
    const third = await grace.issue('u-3')
    expect(await copies()).toBe(3)
    clock.now += 500 // the first two are 1 100 ms old, the third 500 ms
    await grace.issue('u-4')
    expect(await copies()).toBe(2)
    state.down = true
    await expect(grace.validate(first.token)).rejects.toMatchObject({ code: 'session_store_unavailable' })
    expect((await grace.validate(third.token))?.userId).toBe('u-3')
    grace.close()
  })

  it('keeps at most maxEntries copies, the most recently seen', async () => {
    const { grace, clock, state, copies } = graced(60_000, 2)
    const a = await grace.issue('u-a')
    const b = await grace.issue('u-b')
    clock.now += 10
    expect((await grace.validate(a.token))?.userId).toBe('u-a') // seen again: now the newest
    const c = await grace.issue('u-c')
    expect(await copies()).toBe(2)
    state.down = true
    await expect(grace.validate(b.token)).rejects.toMatchObject({ code: 'session_store_unavailable' })
    expect((await grace.validate(a.token))?.userId).toBe('u-a')
    expect((await grace.validate(c.token))?.userId).toBe('u-c')
    grace.close()
  })
})
