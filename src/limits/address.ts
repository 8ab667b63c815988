// Client addresses as limit keys: IPv4 per address and per /24; IPv6 per /64 (one host's usual
// allocation, so rotating inside it buys nothing). Allow and deny lists of CIDRs.
import ipaddr from 'ipaddr.js'
import { memoize } from '../infra/memo.js'

export interface ClientAddress {
  /** The address as the limits key it: IPv4 as is, IPv6 as its /64. */
  ipKey: string
  /** The network an attacker rotating addresses stays inside: /24 or /64. */
  subnet: string
}

const V4_SUBNET_BITS = 24
const V6_PREFIX_BITS = 64

// An attack sends the same few addresses again and again. Only what can be an IP is kept: behind
// a trusted proxy the address is whatever X-Forwarded-For said.
const MAX_ADDRESS_CHARS = 64
const remembered = memoize(parseAddress, 10_000)

/** An address's limit keys. */
export function addressOf (ip: string): ClientAddress {
  return ip.length <= MAX_ADDRESS_CHARS ? remembered(ip) : parseAddress(ip)
}

function parseAddress (ip: string): ClientAddress {
  // process() folds IPv4-mapped IPv6 (::ffff:1.2.3.4, seen on dual-stack sockets) back to IPv4.
  const parsed = ipaddr.isValid(ip) ? ipaddr.process(ip) : null
  if (parsed === null) return { ipKey: ip, subnet: ip }
  if (parsed.kind() === 'ipv4') return { ipKey: parsed.toString(), subnet: prefixOf(parsed, V4_SUBNET_BITS) }
  const prefix = prefixOf(parsed, V6_PREFIX_BITS)
  return { ipKey: prefix, subnet: prefix }
}

function prefixOf (address: ipaddr.IPv4 | ipaddr.IPv6, bits: number): string {
  const bytes = address.toByteArray()
  const masked = bytes.map((b, i) => {
    const keep = Math.min(8, Math.max(0, bits - i * 8))
    return b & (0xff << (8 - keep)) & 0xff
  })
  return `${ipaddr.fromByteArray(masked).toString()}/${bits}`
}

export type CidrList = ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>

/** Parses comma-separated CIDRs or addresses; returns the entries that are neither as `bad`. */
export function parseCidrList (value: string): { list: CidrList, bad: string[] } {
  const list: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = []
  const bad: string[] = []
  for (const entry of value.split(',').map(s => s.trim()).filter(Boolean)) {
    if (ipaddr.isValidCIDR(entry)) list.push(ipaddr.parseCIDR(entry))
    else if (ipaddr.isValid(entry)) {
      const address = ipaddr.process(entry)
      list.push([address, address.kind() === 'ipv4' ? 32 : 128])
    } else bad.push(entry)
  }
  return { list, bad }
}

export function inList (ip: string, list: CidrList): boolean {
  if (list.length === 0 || !ipaddr.isValid(ip)) return false
  const address = ipaddr.process(ip)
  return list.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits))
}
