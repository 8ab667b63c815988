import { describe, expect, it } from 'vitest'
import { createVelocitySnapshots } from '../../src/bots/velocity-snapshots.js'
import { NO_VELOCITY } from '../../src/rules/features.js'

const reading = (n: number) => ({ ...NO_VELOCITY, usernamesPerIp: n, attemptsPerIp: n, failureRatioPerIp: 1, usernamesPerSubnet: 2 * n, attemptsPerSubnet: 2 * n, failureRatioPerSubnet: 0.5 })

describe('velocity snapshots', () => {
  it('knows the address and its network apart, until the reading is older than its ttl', () => {
    let now = 1000
    const s = createVelocitySnapshots(5000, 100, () => now)
    s.remember('203.0.113.7', '203.0.113.0/24', reading(12))
    expect(s.known('203.0.113.7', '203.0.113.0/24')).toEqual({ usernamesPerIp: 12, attemptsPerIp: 12, failureRatioPerIp: 1, usernamesPerSubnet: 24, attemptsPerSubnet: 24, failureRatioPerSubnet: 0.5 })
    // Another address of the same network: only the network's part is known.
    expect(s.known('203.0.113.8', '203.0.113.0/24')).toEqual({ usernamesPerSubnet: 24, attemptsPerSubnet: 24, failureRatioPerSubnet: 0.5 })
    expect(s.known('203.0.113.7', '198.51.100.0/24')).toEqual({ usernamesPerIp: 12, attemptsPerIp: 12, failureRatioPerIp: 1 })
    now += 5000
    expect(s.known('203.0.113.7', '203.0.113.0/24')).toEqual({})
  })

  it('keeps at most maxEntries readings, the oldest going first', () => {
    const s = createVelocitySnapshots(60_000, 4, () => 0)
    for (let i = 1; i <= 3; i++) s.remember(`198.51.100.${i}`, `net${i}`, reading(i))
    expect(s.known('198.51.100.1', 'net1')).toEqual({})
    expect(s.known('198.51.100.3', 'net3')).toMatchObject({ usernamesPerIp: 3, usernamesPerSubnet: 6 })
    expect(Object.keys(s.known('198.51.100.2', 'net2'))).toHaveLength(6)
  })
})
