// The limit check of one login attempt, free of HTTP, in phases so that the bot filter can run
// its own Redis work in the same round trip: known blocks (no I/O), one round of increments,
// the pure verdict (with tighter budgets from abuse rules, and challenges), and the
// bookkeeping once the backend has answered.
import { type RequestLog as Logger } from '../infra/logger.js'
import { type Metrics } from '../infra/metrics.js'
import { type BlockCache } from './block-cache.js'
import { type LimitCounters } from './limit-counters.js'
import {
  budgetOf, type JudgeOptions, judgeLimits, type LimitKey, limitKeys, type Limits, type LimitSubject, type Observation,
  type Quota, type SharedPolicy, tightestQuota, type Verdict
} from './limit-policy.js'
import { type SharedAddresses } from './shared-addresses.js'

export type Rejection = { kind: 'reject', limit: LimitKey, retryAfterMs: number, budget: number, cached: boolean, challenge: boolean }
export type CheckResult = { kind: 'allow', keys: LimitKey[], quota: Quota | undefined } | Rejection

export interface Observed {
  keys: LimitKey[]
  observations: Observation[]
}

export interface LimitGuard {
  /** A key of this request already known to be blocked: refuse without any Redis command. */
  knownBlock: (subject: LimitSubject, only?: (k: LimitKey) => boolean) => Rejection | undefined
  /** The same for the limits that hold an untrusted request by its address alone (before the body). */
  knownAddressBlock: (ipKey: string, subnet: string, exempt: boolean) => Rejection | undefined
  /** Counts the attempt against every limit holding it: one Redis round trip. */
  observe: (subject: LimitSubject) => Promise<Observed>
  /** The verdict on what `observe` saw. */
  judge: (subject: LimitSubject, observed: Observed, log: Logger, options?: JudgeOptions) => Promise<CheckResult>
  /** knownBlock, observe and judge in one go. */
  check: (subject: LimitSubject, log: Logger, options?: JudgeOptions) => Promise<CheckResult>
  /**
   * The password was right: the attempt's failure points go back. When the login is complete too
   * (no second factor), also `completed`; with a second factor, that waits for the code.
   */
  passwordRight: (subject: LimitSubject, keys: readonly LimitKey[], log: Logger, complete: boolean) => Promise<void>
  /** The login is complete: consecutive failures of the user there reset, the address learns a success. */
  completed: (subject: LimitSubject, log: Logger) => Promise<void>
  /** The attempt never reached a verdict (refused earlier, or the backend could not tell): no failure. */
  undo: (keys: readonly LimitKey[], log: Logger) => void
}

export interface LimitGuardOptions {
  counters: LimitCounters
  shared: SharedAddresses
  blocks: BlockCache
  limits: Limits
  sharedPolicy: SharedPolicy
  metrics: Metrics
}

const ADDRESS_KEYS = new Set(['ip', 'subnet', 'global'])
const blockKey = (k: LimitKey) => `${k.name}:${k.key}`
const settled = (log: Logger) => (p: Promise<unknown>) => p.catch((err: Error) => { log.warn({ err: { message: err.message } }, 'limit bookkeeping after a success failed') })

export function createLimitGuard (o: LimitGuardOptions): LimitGuard {
  const { counters, limits, sharedPolicy, metrics } = o
  const failureKeys = (keys: readonly LimitKey[]) => keys.filter(k => limits[k.name].counts === 'failures')

  function refund (keys: readonly LimitKey[], log: Logger): void {
    if (keys.length === 0) return
    counters.settle(keys, []).catch((err: Error) => log.debug({ err: { message: err.message }, limits: keys.map(k => k.name) }, 'refund failed'))
  }

  // A complete login: consecutive failures of the user there reset, the address learns a success.
  async function complete (subject: LimitSubject, keys: readonly LimitKey[], refunds: readonly LimitKey[], log: Logger): Promise<void> {
    const resets = keys.filter(k => limits[k.name].resetOnSuccess)
    // Only complete logins make an address "shared": a stuffing run's password hits must not.
    await Promise.all([counters.settle(refunds, resets), o.shared.recordSuccess(subject.ipKey, subject.userKey)].map(settled(log)))
  }

  async function verdictOn (observations: Observation[], ipKey: string, log: Logger, options: JudgeOptions): Promise<{ verdict: Exclude<Verdict, { kind: 'need_shared_status' }>, shared: boolean }> {
    let shared = o.shared.known(ipKey)
    let verdict = judgeLimits(observations, limits, shared, sharedPolicy, options)
    if (verdict.kind === 'need_shared_status') {
      shared = await o.shared.lookup(ipKey).catch((err: Error) => {
        log.warn({ err: { message: err.message } }, 'shared-address lookup failed; the normal budget applies')
        return false
      })
      verdict = judgeLimits(observations, limits, shared, sharedPolicy, options)
    }
    if (verdict.kind === 'need_shared_status') throw new Error('shared status unresolved after lookup')
    return { verdict, shared: shared === true }
  }

  const guard: LimitGuard = {
    knownBlock (subject, only) {
      // A remembered subnet refusal was judged on the normal budget: a shared address has more.
      const shared = o.shared.known(subject.ipKey) === true
      for (const k of limitKeys(subject, limits)) {
        if ((only !== undefined && !only(k)) || (shared && limits[k.name].key === 'subnet')) continue
        const ms = limits[k.name].shadow ? 0 : o.blocks.msLeft(blockKey(k))
        if (ms > 0) {
          metrics.limitBlockCacheHits.inc({ limit: k.name })
          return { kind: 'reject', limit: k, retryAfterMs: ms, budget: limits[k.name].points, cached: true, challenge: false }
        }
      }
      return undefined
    },

    knownAddressBlock (ipKey, subnet, exempt) {
      const subject: LimitSubject = { ipKey, subnet, userKey: '', exempt: { username: false, ip: exempt, device: false } }
      return guard.knownBlock(subject, k => ADDRESS_KEYS.has(limits[k.name].key))
    },

    async observe (subject) {
      const keys = limitKeys(subject, limits)
      return { keys, observations: await counters.consume(keys) }
    },

    async judge (subject, { keys, observations }, log, options = {}) {
      const { verdict, shared } = await verdictOn(observations, subject.ipKey, log, options)
      for (const s of verdict.shadowed) log.info({ limit: s.name }, 'would rate-limit (shadow limit)')
      for (const obs of observations) {
        const decision = verdict.kind === 'reject' && verdict.limit.name === obs.name
          ? 'reject'
          : verdict.shadowed.some(s => s.name === obs.name) ? 'shadow' : 'allow'
        metrics.limitDecisions.inc({ limit: obs.name, decision })
      }
      if (verdict.kind === 'allow') return { kind: 'allow', keys, quota: tightestQuota(observations, limits, shared, sharedPolicy) }

      const retryAfterMs = verdict.escalate ? (await counters.escalate(verdict.limit)) * 1000 : verdict.retryAfterMs
      // A challengeable limit stays open to whoever solves the challenge: no cached refusal.
      if (!verdict.challenge) o.blocks.add(blockKey(verdict.limit), retryAfterMs)
      // Refused before the backend: no failure happened, except on the limit that refused.
      refund(failureKeys(keys).filter(k => k.name !== verdict.limit.name), log)
      const budget = Math.min(budgetOf(verdict.limit.name, limits, shared, sharedPolicy), options.overrides?.[verdict.limit.name] ?? Infinity)
      return { kind: 'reject', limit: verdict.limit, retryAfterMs, budget, cached: false, challenge: verdict.challenge }
    },

    async check (subject, log, options) {
      return guard.knownBlock(subject) ?? await guard.judge(subject, await guard.observe(subject), log, options)
    },

    async passwordRight (subject, keys, log, completed) {
      const failures = failureKeys(keys)
      if (!completed) {
        await settled(log)(counters.settle(failures, []))
        return
      }
      await complete(subject, keys, failures.filter(k => !limits[k.name].resetOnSuccess), log) // the others are reset
    },

    async completed (subject, log) {
      await complete(subject, limitKeys(subject, limits), [], log)
    },

    undo (keys, log) {
      refund(failureKeys(keys), log)
    }
  }
  return guard
}
