// Builds each class's agents for a scenario: one honest population shared by all phases (so
// cookies and Retry-After waits carry over), and attackers with their address pools.
import { type TrafficClass } from '../measure/classify.js'
import { type Recorder } from '../measure/recorder.js'
import { type Stack } from '../stack/stack.js'
import { type AccountPool, buildAccounts, createAccountPool } from '../traffic/account-pool.js'
import { botnetAddress, datacenterAddresses, proxyPool, seededRandom } from '../traffic/addresses.js'
import { type AgentFactory } from '../traffic/agent.js'
import { createBotAgent, createBruteForceAgent, createStuffingAgent } from '../traffic/attack-agents.js'
import { createHonestAgent } from '../traffic/honest-agent.js'
import { type LoadSpec } from '../traffic/load.js'
import { type ClassShare, type LoadModel, splitLoad } from '../traffic/mix.js'
import { pickHonestIndices } from '../traffic/population.js'
import { createPumpAgent } from '../traffic/pump-agent.js'
import { type Target } from './types.js'

export interface PopulationSpec {
  size: number
  /** Share of users with a second factor; forced to 0 against a remote target (codes unreadable). */
  mfaShare: number
  natShare: number
  natAddresses: number
  formShare: number
  /** Users log in once and are done (a crowd). */
  once?: boolean
  /** Start further into the directory, for a second population that shares no account with the first. */
  offset?: number
}

export interface TrafficKit {
  pool: AccountPool
  /** Usernames the brute forcers attack: the first accounts, which warm-up logs in first. */
  bruteTargets: readonly string[]
  loads: (mix: readonly ClassShare[], model: LoadModel, target?: Target) => LoadSpec[]
}

export const DEFAULT_POPULATION: PopulationSpec = { size: 20_000, mfaShare: 0.2, natShare: 0.1, natAddresses: 64, formShare: 0.2 }

/** Where a kit's attackers come from: proxy and datacenter networks, and the pumpers' own accounts. */
export interface AttackerRanges {
  proxyOctets: readonly [number, number]
  pumpProxyOctets: readonly [number, number]
  /** Third octets of the brute forcers' and the bots' datacenter hosts. */
  bruteForceHosts: number
  botHosts: number
  /** The first of the 20 pump accounts (see pumpAccounts). */
  firstPumpAccount: number
}

export const MEASURED_ATTACKERS: AttackerRanges = { proxyOctets: [203, 0], pumpProxyOctets: [185, 220], bruteForceHosts: 20, botHosts: 30, firstPumpAccount: 1 }

/**
 * A warm-up's attackers: ranges of their own (the datacenter /24s of no other scenario either),
 * so that their address, network and account counters, blocks and codes sent to a number do not
 * carry into the measured phase.
 */
export const WARM_UP_ATTACKERS: AttackerRanges = { proxyOctets: [203, 1], pumpProxyOctets: [185, 221], bruteForceHosts: 60, botHosts: 70, firstPumpAccount: 21 }

/** The pumpers' own accounts (pumpN, each with a premium number of its own). */
export const pumpAccounts = (r: AttackerRanges): number[] => Array.from({ length: 20 }, (_, i) => r.firstPumpAccount + i)

/** The addresses each attacking class of a kit sends from (the botnet's are drawn at random). */
export function attackerAddresses (r: AttackerRanges) {
  return {
    stuffing: proxyPool(4, r.proxyOctets),
    pumping: proxyPool(2, r.pumpProxyOctets),
    bruteForce: datacenterAddresses(2, r.bruteForceHosts),
    bots: datacenterAddresses(3, r.botHosts)
  }
}

export function createTrafficKit (stack: Stack, recorder: Recorder, spec: PopulationSpec, seed = 7, attackers = MEASURED_ATTACKERS): TrafficKit {
  const mfaShare = stack.sinks === undefined ? 0 : spec.mfaShare
  const accounts = buildAccounts({ indices: pickHonestIndices(spec.size, mfaShare, spec.offset ?? 0), natShare: spec.natShare, natAddresses: spec.natAddresses, formShare: spec.formShare, seed })
  const pool = createAccountPool(accounts)
  const bruteTargets = accounts.slice(0, 5).map(a => a.username)
  const knownUsernames = accounts.filter((_, i) => i % 7 === 3).map(a => a.username)
  const from = attackerAddresses(attackers)

  const factory = (cls: TrafficClass, target: Target, base: number): AgentFactory => {
    switch (cls) {
      case 'honest':
        return () => createHonestAgent({ pool, recorder, mailbox: stack.sinks?.mailbox, target, clock: () => performance.now(), maxWaitS: 30, once: spec.once === true })
      case 'stuffing':
        return c => createStuffingAgent({ random: seededRandom(base + c), addresses: from.stuffing, knownUsernames, knownShare: 0.25 })
      case 'botnet-stuffing':
        return c => {
          const random = seededRandom(base + c)
          // Scattered hosts that share no /24, each seen a few times: no per-address or
          // per-network counter can add them up (reported apart for that reason).
          return createStuffingAgent({ random, addresses: Array.from({ length: 400 }, () => botnetAddress(random)), knownUsernames, knownShare: 0.25 })
        }
      case 'brute-force':
        return c => createBruteForceAgent({ random: seededRandom(base + c), targets: bruteTargets, addresses: from.bruteForce })
      case 'bot':
        return c => createBotAgent({ random: seededRandom(base + c), addresses: from.bots })
      case 'sms-pumping':
        return c => createPumpAgent({ random: seededRandom(base + c), accounts: pumpAccounts(attackers), addresses: from.pumping })
    }
  }

  let calls = 0
  return {
    pool,
    bruteTargets,
    loads (mix, model, target = 'gateway') {
      calls++
      return splitLoad(mix, model).map((l, i) => ({ ...l, makeAgent: factory(l.cls, target, seed * 1_000_000 + calls * 10_000 + i * 1000) }))
    }
  }
}
