// The attackers that only post logins: credential stuffing (leaked pairs over many usernames,
// from a rotating proxy pool), brute force (many passwords on a few accounts) and declared
// bots (scripted clients that say so in their User-Agent). They ignore every answer.
import { type Agent, type Outgoing } from './agent.js'
import { type Random, pick } from './addresses.js'
import { BOT_AGENTS, FORM_TYPE, JSON_TYPE, botHeaders, browserHeaders, browserIdentity, loginBody } from './headers.js'

const COMMON_PASSWORDS = ['123456', 'password1', 'qwerty123', 'iloveyou', 'Aa123456', 'woaini1314', '88888888', 'abc123456'] as const

const login = (headers: Record<string, string>, body: string): Outgoing => ({ step: 'login', method: 'POST', path: '/auth/login', headers, body })
const silent = { answer () {}, lost () {} }

export interface StuffingOptions {
  random: Random
  /** The proxy pool it rotates through: a new address for every attempt. */
  addresses: readonly string[]
  /** Real usernames that appear in the leaked list (with passwords from another site). */
  knownUsernames: readonly string[]
  knownShare: number
}

export function createStuffingAgent (o: StuffingOptions): Agent {
  return {
    next () {
      const known = o.knownUsernames.length > 0 && o.random() < o.knownShare
      const username = known ? pick(o.knownUsernames, o.random) : `leak${Math.floor(o.random() * 1e8)}`
      const password = `${pick(COMMON_PASSWORDS, o.random)}${Math.floor(o.random() * 100)}`
      // Stuffing tools copy a browser's headers; only the address and the pairs change.
      return login(browserHeaders(browserIdentity(o.random), pick(o.addresses, o.random), JSON_TYPE), loginBody(username, password, false))
    },
    ...silent
  }
}

export interface BruteForceOptions {
  random: Random
  /** The few accounts under attack. */
  targets: readonly string[]
  addresses: readonly string[]
}

export function createBruteForceAgent (o: BruteForceOptions): Agent {
  let guess = Math.floor(o.random() * 1e6)
  const identity = browserIdentity(o.random)
  return {
    next () {
      guess++
      const username = o.targets[guess % o.targets.length] ?? 'h1'
      const address = o.addresses[guess % o.addresses.length] ?? '198.18.10.10'
      return login(browserHeaders(identity, address, JSON_TYPE), loginBody(username, `guess-${guess}`, false))
    },
    ...silent
  }
}

export interface BotOptions {
  random: Random
  addresses: readonly string[]
}

export function createBotAgent (o: BotOptions): Agent {
  const userAgent = pick(BOT_AGENTS, o.random)
  return {
    next () {
      const form = o.random() < 0.5
      const username = `user${Math.floor(o.random() * 1e6)}`
      return login(botHeaders(userAgent, pick(o.addresses, o.random), form ? FORM_TYPE : JSON_TYPE), loginBody(username, pick(COMMON_PASSWORDS, o.random), form))
    },
    ...silent
  }
}

export interface FloodOptions {
  /** Shared by all connections: hands out the next never-used address number. */
  nextAddress: () => number
  random: Random
}

/**
 * An address flood: every address makes two attempts and is never seen again, so each leaves
 * a blocked key behind (with ip_attempts at one point) for the gateway to remember.
 */
export function createFloodAgent (o: FloodOptions): Agent {
  let address = ''
  let second = false
  // Browser headers: the flood is about what the limits remember, not what a bot filter sees.
  const identity = browserIdentity(o.random)
  return {
    next () {
      if (!second) address = floodAddress(o.nextAddress())
      second = !second
      return login(browserHeaders(identity, address, JSON_TYPE), loginBody(`user${Math.floor(o.random() * 1e6)}`, 'password1', false))
    },
    ...silent
  }
}

/** The n-th flood address: distinct for every n below 2^24, spread over /24s (pure). */
export function floodAddress (n: number): string {
  // An odd multiplier is a bijection modulo 2^24; the product stays below 2^53, so it is exact.
  const v = (45 << 24) + (((n % 0x1000000) * 0x9E3779) % 0x1000000)
  return [24, 16, 8, 0].map(s => (v >>> s) & 255).join('.')
}
