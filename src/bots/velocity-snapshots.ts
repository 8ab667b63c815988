// The last velocity reading of addresses (and /24s) the rules refused, kept in process for a few
// seconds: while an address keeps being refused, its next refusal is decided from this reading,
// without a Redis round trip (see decideEarly). Bounded: past maxEntries the oldest go first.
import { type CountedVelocity } from '../rules/features.js'

export interface VelocitySnapshots {
  remember: (ipKey: string, subnet: string, v: CountedVelocity) => void
  /** What is known of the address's and its network's signals; {} when nothing recent. */
  known: (ipKey: string, subnet: string) => Partial<CountedVelocity>
}

type IpPart = Pick<CountedVelocity, 'usernamesPerIp' | 'failureRatioPerIp' | 'attemptsPerIp'>
type NetPart = Pick<CountedVelocity, 'usernamesPerSubnet' | 'failureRatioPerSubnet' | 'attemptsPerSubnet'>

export function createVelocitySnapshots (ttlMs: number, maxEntries: number, now: () => number): VelocitySnapshots {
  const entries = new Map<string, { at: number, part: IpPart | NetPart }>()
  const put = (key: string, part: IpPart | NetPart) => {
    entries.delete(key) // re-insert at the young end
    entries.set(key, { at: now(), part })
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value
      if (oldest === undefined) break
      entries.delete(oldest)
    }
  }
  const get = (key: string) => {
    const entry = entries.get(key)
    if (entry === undefined) return {}
    if (now() - entry.at < ttlMs) return entry.part
    entries.delete(key)
    return {}
  }
  return {
    remember (ipKey, subnet, v) {
      put(`ip:${ipKey}`, { usernamesPerIp: v.usernamesPerIp, failureRatioPerIp: v.failureRatioPerIp, attemptsPerIp: v.attemptsPerIp })
      put(`net:${subnet}`, { usernamesPerSubnet: v.usernamesPerSubnet, failureRatioPerSubnet: v.failureRatioPerSubnet, attemptsPerSubnet: v.attemptsPerSubnet })
    },
    known: (ipKey, subnet) => ({ ...get(`ip:${ipKey}`), ...get(`net:${subnet}`) })
  }
}
