// Login limits as data, and the pure decisions over them: which limits hold a request, and
// whether the counts observed for it are over budget. No I/O here.

export const LIMIT_NAMES = [
  'global_attempts', 'ip_attempts', 'subnet_attempts', 'ip_failures',
  'user_ip_failures', 'user_failures_short', 'user_failures_day',
  'device_attempts', 'device_failures'
] as const
export type LimitName = typeof LIMIT_NAMES[number]

export interface LimitSpec {
  /** What the counter is keyed by. */
  key: 'global' | 'ip' | 'subnet' | 'username' | 'user_ip' | 'device'
  /** `failures` are counted up front and refunded on success (one Redis round trip per failed login). */
  counts: 'attempts' | 'failures'
  /** Who it holds: requests without a trusted-device cookie, with one, or both. */
  holds: 'untrusted' | 'trusted' | 'both'
  points: number
  windowS: number
  /** 0: blocked until the window ends. Otherwise a first block of blockS, doubling each time within a day. */
  blockS: number
  maxBlockS: number
  /** A successful login clears the counter (consecutive failures of that user there). */
  resetOnSuccess: boolean
  /** Counts and reports, never refuses (try a new budget safely). */
  shadow: boolean
  enabled: boolean
  /**
   * Past the budget: `refuse` (429 too_many_attempts), or `challenge` (429 challenge_required; a
   * solved proof of work lets the attempt through), so that nobody can lock an account out.
   */
  onExceed: 'refuse' | 'challenge'
}

export type Limits = Record<LimitName, LimitSpec>

const DAY = 86_400
const base = { blockS: 0, maxBlockS: DAY, resetOnSuccess: false, shadow: false, enabled: true, onExceed: 'refuse' as const }

/** The defaults and where they come from: README "Rate limits" explains each. */
export const DEFAULT_LIMITS: Limits = {
  // Protects the auth backend's capacity: set it to what the backend can take.
  global_attempts: { ...base, key: 'global', counts: 'attempts', holds: 'both', points: 1000, windowS: 1 },
  ip_attempts: { ...base, key: 'ip', counts: 'attempts', holds: 'untrusted', points: 30, windowS: 60 },
  subnet_attempts: { ...base, key: 'subnet', counts: 'attempts', holds: 'untrusted', points: 300, windowS: 60 },
  // rate-limiter-flexible's login recipe: 100 wrong attempts per IP per day.
  ip_failures: { ...base, key: 'ip', counts: 'failures', holds: 'untrusted', points: 100, windowS: DAY },
  // The recipe's consecutive failures per username and IP (10), with escalating blocks.
  user_ip_failures: { ...base, key: 'user_ip', counts: 'failures', holds: 'untrusted', points: 10, windowS: DAY, blockS: 900, resetOnSuccess: true },
  // Progressive slow-down per account across all IPs: a short window, then NIST SP 800-63B's 100.
  user_failures_short: { ...base, key: 'username', counts: 'failures', holds: 'untrusted', points: 10, windowS: 900, onExceed: 'challenge' },
  user_failures_day: { ...base, key: 'username', counts: 'failures', holds: 'untrusted', points: 100, windowS: DAY, onExceed: 'challenge' },
  // OWASP device cookies: a trusted device has its own budget instead of the shared IP's.
  device_attempts: { ...base, key: 'device', counts: 'attempts', holds: 'trusted', points: 10, windowS: 60 },
  device_failures: { ...base, key: 'device', counts: 'failures', holds: 'trusted', points: 10, windowS: DAY, blockS: 900, resetOnSuccess: true }
}

export interface LimitSubject {
  ipKey: string
  subnet: string
  /** Hash of the case-folded username: raw usernames never become Redis keys. */
  userKey: string
  /** The id from a valid trusted-device cookie for this username. */
  deviceId?: string
  /** Scoped unblocks in force: the limits keyed on an exempt part do not hold. */
  exempt?: { username: boolean, ip: boolean, device: boolean }
}

// The scoped unblock that lifts the limits of each key kind (global: none).
const EXEMPT_SCOPE: Record<LimitSpec['key'], 'username' | 'ip' | 'device' | undefined> = {
  global: undefined,
  username: 'username',
  user_ip: 'username',
  ip: 'ip',
  subnet: 'ip',
  device: 'device'
}

export interface LimitKey {
  name: LimitName
  key: string
}

/** The limits that hold this request and the counter key of each. */
export function limitKeys (subject: LimitSubject, limits: Limits): LimitKey[] {
  const trusted = subject.deviceId !== undefined
  const keys: LimitKey[] = []
  for (const name of LIMIT_NAMES) {
    const spec = limits[name]
    if (!spec.enabled || (spec.holds === 'trusted' && !trusted) || (spec.holds === 'untrusted' && trusted)) continue
    const scope = EXEMPT_SCOPE[spec.key]
    if (scope !== undefined && subject.exempt?.[scope] === true) continue
    keys.push({ name, key: keyValue(spec.key, subject) })
  }
  return keys
}

function keyValue (kind: LimitSpec['key'], s: LimitSubject): string {
  switch (kind) {
    case 'global': return 'all'
    case 'ip': return s.ipKey
    case 'subnet': return s.subnet
    case 'username': return s.userKey
    case 'user_ip': return `${s.userKey}:${s.ipKey}`
    case 'device': return `${s.deviceId ?? ''}:${s.userKey}`
  }
}

export interface Observation extends LimitKey {
  /** The counter after this request's increment. */
  consumed: number
  msBeforeNext: number
}

export interface SharedPolicy {
  /** Budget multiplier for the address-wide limits (IP and subnet) of an address many users log in from. */
  multiplier: number
}

export type Verdict =
  | { kind: 'allow', shadowed: LimitKey[] }
  | { kind: 'reject', limit: LimitKey, retryAfterMs: number, shadowed: LimitKey[], escalate: boolean, challenge: boolean }
  /** Over the normal budget but within the shared one: the caller must find out whether the address is shared. */
  | { kind: 'need_shared_status' }

// A shared address's own attempts alone may fill its subnet's normal budget (30 x 10 = 300), so
// the subnet budget grows for it too. Only for it: the other addresses of the subnet keep the
// normal budget, so rotating addresses next to a carrier NAT buys an attacker nothing.
const RAISED_WHEN_SHARED: ReadonlyArray<LimitSpec['key']> = ['ip', 'subnet']

export function budgetOf (name: LimitName, limits: Limits, shared: boolean, policy: SharedPolicy): number {
  const spec = limits[name]
  return shared && RAISED_WHEN_SHARED.includes(spec.key) ? spec.points * policy.multiplier : spec.points
}

/** The largest budget a limit can have: what its counter must be able to hold. */
export function maxBudgetOf (name: LimitName, limits: Limits, policy: SharedPolicy): number {
  return budgetOf(name, limits, true, policy)
}

export interface JudgeOptions {
  /** Tighter budgets for this request (abuse rules' `limit` action); never looser. */
  overrides?: Partial<Record<LimitName, number>>
  /** The request carries a solved challenge: limits that challenge let it through. */
  challengeSolved?: boolean
}

export function judgeLimits (observations: readonly Observation[], limits: Limits, shared: boolean | undefined, policy: SharedPolicy, options: JudgeOptions = {}): Verdict {
  let worst: Extract<Verdict, { kind: 'reject' }> | undefined
  const shadowed: LimitKey[] = []
  const budget = (name: LimitName, isShared: boolean) => Math.min(budgetOf(name, limits, isShared, policy), options.overrides?.[name] ?? Infinity)
  for (const o of observations) {
    const spec = limits[o.name]
    if (o.consumed <= budget(o.name, shared === true)) continue
    if (shared === undefined && RAISED_WHEN_SHARED.includes(spec.key) && o.consumed <= budget(o.name, true)) {
      return { kind: 'need_shared_status' }
    }
    if (spec.shadow) {
      shadowed.push({ name: o.name, key: o.key })
      continue
    }
    if (spec.onExceed === 'challenge' && options.challengeSolved === true) continue
    // The request that crosses the line starts an escalating block. Others refused meanwhile may
    // still see the counter's window (a day) before the block lands: they are told the first block
    // length, never the window, and learn the true block when they come back.
    const escalate = spec.blockS > 0 && o.consumed === budget(o.name, shared === true) + 1
    const retryAfterMs = escalate ? spec.blockS * 1000 : spec.blockS > 0 ? Math.min(o.msBeforeNext, spec.blockS * 1000) : o.msBeforeNext
    if (worst === undefined || retryAfterMs > worst.retryAfterMs) {
      worst = { kind: 'reject', limit: { name: o.name, key: o.key }, retryAfterMs, shadowed, escalate, challenge: spec.onExceed === 'challenge' }
    }
  }
  return worst === undefined ? { kind: 'allow', shadowed } : { ...worst, shadowed }
}

/** Escalating blocks: blockS, doubled for each earlier block of the key within a day, capped. */
export function blockSecondsFor (spec: Pick<LimitSpec, 'blockS' | 'maxBlockS'>, earlierBlocks: number): number {
  return Math.min(spec.maxBlockS, spec.blockS * 2 ** Math.min(earlierBlocks, 30))
}

export interface Quota {
  name: LimitName
  budget: number
  remaining: number
  windowS: number
  resetS: number
}

/** The client's own attempt budget with the least left, for the RateLimit header fields. */
export function tightestQuota (observations: readonly Observation[], limits: Limits, shared: boolean, policy: SharedPolicy): Quota | undefined {
  let best: Quota | undefined
  for (const o of observations) {
    const spec = limits[o.name]
    if (spec.counts !== 'attempts' || spec.key === 'global') continue
    const budget = budgetOf(o.name, limits, shared, policy)
    const quota = { name: o.name, budget, remaining: Math.max(0, budget - o.consumed), windowS: spec.windowS, resetS: Math.ceil(o.msBeforeNext / 1000) }
    if (best === undefined || quota.remaining < best.remaining) best = quota
  }
  return best
}
