// Client addresses, sent as X-Forwarded-For (the bench's gateway trusts its loopback peer).
// Where each class comes from decides which limits can see it, so the layout is deliberate:
// honest users spread thinly over many /24s (as a country's subscribers do), some behind
// carrier-grade NAT; attackers rotate inside a proxy provider's few /24s or sit in a datacenter.

export type Random = () => number

/** mulberry32: a seeded PRNG, so that two runs of a scenario send the same traffic. */
export function seededRandom (seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const pick = <T>(items: readonly T[], random: Random): T => {
  const item = items[Math.floor(random() * items.length)]
  if (item === undefined) throw new Error('pick from an empty list')
  return item
}

const dotted = (n: number): string => [24, 16, 8, 0].map(s => (n >>> s) & 255).join('.')

// 8192 /24 networks under 10.0.0.0/8: at a few thousand logins per second each network sees
// well under subnet_attempts' 300 per minute, as a real subscriber base would.
const HONEST_SUBNETS = 8192

/** The home address of honest account `n`: one address per account, up to 8192 × 254 of them. */
export function honestHomeAddress (n: number): string {
  const subnet = n % HONEST_SUBNETS
  const host = 1 + (Math.floor(n / HONEST_SUBNETS) % 254)
  return dotted((10 << 24) + (subnet << 8) + host)
}

/** Carrier-grade NAT egress addresses (100.64.0.0/10), each in its own /24. */
export function cgnatAddress (k: number): string {
  return dotted((100 << 24) + (64 << 16) + ((k % 16_384) << 8) + 7)
}

/** Where honest account `n` logs in from: its home, or one of `natAddresses` shared egresses. */
export function honestAddress (n: number, natShare: number, natAddresses: number): string {
  // Every 1/natShare-th account sits behind NAT: a stable choice per account, no randomness.
  const behindNat = natShare > 0 && natAddresses > 0 && (n * 7919) % 1000 < natShare * 1000
  return behindNat ? cgnatAddress(n % natAddresses) : honestHomeAddress(n)
}

/** A proxy provider's pool: `subnets` /24s, every usable host of each. */
export function proxyPool (subnets: number, firstOctets: readonly [number, number]): string[] {
  const pool: string[] = []
  for (let s = 0; s < subnets; s++) {
    for (let h = 1; h <= 254; h++) pool.push(dotted((firstOctets[0] << 24) + (firstOctets[1] << 16) + ((113 + s) % 256 << 8) + h))
  }
  return pool
}

/** A fresh address anywhere in 45.0.0.0/8..60.0.0.0/8: a botnet member seen once. */
export function botnetAddress (random: Random): string {
  return dotted(((45 + Math.floor(random() * 16)) << 24) + Math.floor(random() * 0xffffff))
}

/** A handful of datacenter hosts: declared bots and brute forcers come from these. */
export function datacenterAddresses (count: number, thirdOctet = 10): string[] {
  return Array.from({ length: count }, (_, i) => dotted((198 << 24) + (18 << 16) + (thirdOctet << 8) + 10 + i))
}
