// What the abuse rules see of a login attempt: plain data computed per request (signals.ts) plus
// velocity counters from Redis. Also what the decision log records, so that a replay can
// evaluate candidate rules on recorded traffic exactly as the gateway would have.
import { type LimitName } from '../limits/limit-policy.js'

export interface RequestFeatures {
  path: string
  method: string
  ip: string
  /** IPv4 as is, IPv6 as its /64. */
  ipKey: string
  /** /24 or /64. */
  subnet: string
  /** The headers rules may test, names lower-cased. */
  headers: Record<string, string>
  userAgent: string
  ua: {
    /** isbot says so. */
    bot: boolean
    missing: boolean
    /** Present but not shaped like any real client's. */
    malformed: boolean
    /** Claims to be a mainstream browser. */
    browser: boolean
  }
  /** Header anomalies typical of scripts, e.g. `missing_accept_language` (see signals.ts). */
  anomalies: string[]
  /** The honeypot form field was filled in (humans never see it). */
  honeypot: boolean
  /** A valid trusted-device cookie for this username came with the request. */
  trustedDevice: boolean
  /** Keyed hash of the case-folded username; never the username. */
  userKey: string
  velocity: {
    /** Distinct usernames tried from this address (IPv6: /64) in the velocity window. */
    usernamesPerIp: number
    /** Distinct usernames tried with this client-declared device id in the window (0 without one). */
    usernamesPerDevice: number
    /** Failed attempts / attempts from this address in the window (0 without attempts). */
    failureRatioPerIp: number
    attemptsPerIp: number
    attemptsPerUsername: number
    /** The same three for the address's /24 (IPv6: its /64, as the address): a proxy pool rotating inside one network. */
    usernamesPerSubnet: number
    failureRatioPerSubnet: number
    attemptsPerSubnet: number
    /** Every login this replica saw in the last minute, and the share that failed (in process, no Redis). */
    globalAttempts: number
    globalFailureRatio: number
  }
}

/** The velocity signals kept in the counters (Redis, or memory in demo mode); the global ones are in process. */
export type CountedVelocity = Omit<RequestFeatures['velocity'], 'globalAttempts' | 'globalFailureRatio'>

export const NO_VELOCITY: CountedVelocity = {
  usernamesPerIp: 0, usernamesPerDevice: 0, failureRatioPerIp: 0, attemptsPerIp: 0, attemptsPerUsername: 0, usernamesPerSubnet: 0, failureRatioPerSubnet: 0, attemptsPerSubnet: 0
}

export const RULE_ACTIONS = ['allow', 'block', 'challenge', 'step-up', 'limit', 'tag'] as const

export type RuleAction =
  | { kind: 'allow' }
  | { kind: 'block' }
  | { kind: 'challenge' }
  | { kind: 'step-up' }
  /** Tighter budgets for existing limits, for this request only. */
  | { kind: 'limit', budgets: Partial<Record<LimitName, number>> }
  | { kind: 'tag', tag: string }

export type RuleMode = 'enforce' | 'shadow' | 'canary'

/** The outcome of the rules for one request. */
export interface RulesVerdict {
  /** The first enforced terminal action (allow, block, challenge, step-up), or none. */
  action: 'none' | 'allow' | 'block' | 'challenge' | 'step-up'
  /** The rule that decided `action`. */
  ruleId?: string
  /** Every rule that matched and was enforced, in order (terminal or not). */
  enforced: string[]
  /** Every rule that matched in shadow mode (or canary, not drawn), in order. */
  shadowed: string[]
  /** Budgets tightened by enforced `limit` rules (the lowest wins). */
  budgets: Partial<Record<LimitName, number>>
  tags: string[]
}
