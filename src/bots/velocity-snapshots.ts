// The last velocity reading of addresses (and /24s) the rules refused, kept in process for a few
// seconds: while an address keeps being refused, its next refusal is decided from this reading,
// without a Redis round trip (see decideEarly). Bounded: past maxEntries the oldest go first.
import { type CountedVelocity } from '../rules/features.js'

export interface VelocitySnapshots {
  remember: (ipKey: string, subnet: string, v: CountedVelocity) => void
  /** What is known of the address's and its network's signals; {} when nothing recent. */
  known: (ipKey: string, subnet: string) => Readonly<Partial<CountedVelocity>>
}

type IpPart = Readonly<Pick<CountedVelocity, 'usernamesPerIp' | 'failureRatioPerIp' | 'attemptsPerIp'>>
type NetPart = Readonly<Pick<CountedVelocity, 'usernamesPerSubnet' | 'failureRatioPerSubnet' | 'attemptsPerSubnet'>>

export function createVelocitySnapshots (ttlMs: number, maxEntries: number, now: () => number): VelocitySnapshots {
  // Addresses and networks apart, so that a look-up builds no key (an attack looks up thousands a second).
  const ips = new Map<string, { at: number, part: IpPart }>()
  const nets = new Map<string, { at: number, part: NetPart }>()
  function put<P> (entries: Map<string, { at: number, part: P }>, key: string, part: P): void {
    entries.delete(key) // re-insert at the young end
    entries.set(key, { at: now(), part })
    while (ips.size + nets.size > maxEntries) {
      const from = ips.size >= nets.size ? ips : nets
      const oldest = from.keys().next().value
      if (oldest === undefined) break
      from.delete(oldest)
    }
  }
  function get<P> (entries: Map<string, { at: number, part: P }>, key: string): P | undefined {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    if (now() - entry.at < ttlMs) return entry.part
    entries.delete(key)
    return undefined
  }
  return {
    remember (ipKey, subnet, v) {
      put(ips, ipKey, { usernamesPerIp: v.usernamesPerIp, failureRatioPerIp: v.failureRatioPerIp, attemptsPerIp: v.attemptsPerIp })
      put(nets, subnet, { usernamesPerSubnet: v.usernamesPerSubnet, failureRatioPerSubnet: v.failureRatioPerSubnet, attemptsPerSubnet: v.attemptsPerSubnet })
    },
    known (ipKey, subnet) {
      const ip = get(ips, ipKey)
      const net = get(nets, subnet)
      // The kept parts themselves when only one is known: callers copy, never change them.
      return ip === undefined ? net ?? NOTHING : net === undefined ? ip : { ...ip, ...net }
    }
  }
}

const NOTHING: Partial<CountedVelocity> = Object.freeze({})
