// The limit check of one login attempt, free of HTTP: which counters hold it, one round of
// increments, the pure verdict, and the bookkeeping once the backend has answered.
import { type RequestLog as Logger } from '../infra/logger.js'
import { type Metrics } from '../infra/metrics.js'
import { type BlockCache } from './block-cache.js'
import { type LimitCounters } from './limit-counters.js'
import {
  budgetOf, judgeLimits, type LimitKey, limitKeys, type Limits, type LimitSubject, type Observation,
  type Quota, type SharedPolicy, tightestQuota, type Verdict
} from './limit-policy.js'
import { type SharedAddresses } from './shared-addresses.js'

export type CheckResult =
  | { kind: 'allow', keys: LimitKey[], quota: Quota | undefined }
  | { kind: 'reject', limit: LimitKey, retryAfterMs: number, budget: number, cached: boolean }

export interface LimitGuard {
  /** Counts the attempt against every limit holding it (one Redis round trip) and judges it. */
  check: (subject: LimitSubject, log: Logger) => Promise<CheckResult>
  /** The password was right: refund failure points, reset consecutive failures, learn the address. */
  succeeded: (subject: LimitSubject, keys: readonly LimitKey[], log: Logger) => Promise<void>
  /** The backend could not tell: the attempt was no failure. */
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

const blockKey = (k: LimitKey) => `${k.name}:${k.key}`

export function createLimitGuard (o: LimitGuardOptions): LimitGuard {
  const { counters, limits, sharedPolicy, metrics } = o
  const failureKeys = (keys: readonly LimitKey[]) => keys.filter(k => limits[k.name].counts === 'failures')

  function refund (keys: readonly LimitKey[], log: Logger): void {
    for (const k of keys) {
      counters.refund(k).catch((err: Error) => log.debug({ err: { message: err.message }, limit: k.name }, 'refund failed'))
    }
  }

  async function judge (observations: Observation[], ipKey: string, log: Logger): Promise<{ verdict: Exclude<Verdict, { kind: 'need_shared_status' }>, shared: boolean }> {
    let shared = o.shared.known(ipKey)
    let verdict = judgeLimits(observations, limits, shared, sharedPolicy)
    if (verdict.kind === 'need_shared_status') {
      shared = await o.shared.lookup(ipKey).catch((err: Error) => {
        log.warn({ err: { message: err.message } }, 'shared-address lookup failed; the normal budget applies')
        return false
      })
      verdict = judgeLimits(observations, limits, shared, sharedPolicy)
    }
    if (verdict.kind === 'need_shared_status') throw new Error('shared status unresolved after lookup')
    return { verdict, shared: shared === true }
  }

  return {
    async check (subject, log) {
      const keys = limitKeys(subject, limits)
      // Known blocks first: a key that is already refused costs no Redis command.
      for (const k of keys) {
        const ms = limits[k.name].shadow ? 0 : o.blocks.msLeft(blockKey(k))
        if (ms > 0) {
          metrics.limitBlockCacheHits.inc({ limit: k.name })
          return { kind: 'reject', limit: k, retryAfterMs: ms, budget: limits[k.name].points, cached: true }
        }
      }

      const observations = await Promise.all(keys.map(k => counters.consume(k)))
      const { verdict, shared } = await judge(observations, subject.ipKey, log)
      for (const s of verdict.shadowed) log.info({ limit: s.name }, 'would rate-limit (shadow limit)')
      for (const obs of observations) {
        const decision = verdict.kind === 'reject' && verdict.limit.name === obs.name
          ? 'reject'
          : verdict.shadowed.some(s => s.name === obs.name) ? 'shadow' : 'allow'
        metrics.limitDecisions.inc({ limit: obs.name, decision })
      }
      if (verdict.kind === 'allow') return { kind: 'allow', keys, quota: tightestQuota(observations, limits, shared, sharedPolicy) }

      const retryAfterMs = verdict.escalate ? (await counters.escalate(verdict.limit)) * 1000 : verdict.retryAfterMs
      o.blocks.add(blockKey(verdict.limit), retryAfterMs)
      // Refused before the backend: no failure happened, except on the limit that refused.
      refund(failureKeys(keys).filter(k => k.name !== verdict.limit.name), log)
      return { kind: 'reject', limit: verdict.limit, retryAfterMs, budget: budgetOf(verdict.limit.name, limits, shared, sharedPolicy), cached: false }
    },

    async succeeded (subject, keys, log) {
      const work: Array<Promise<unknown>> = failureKeys(keys).map(k =>
        limits[k.name].resetOnSuccess ? counters.reset(k) : counters.refund(k))
      work.push(o.shared.recordSuccess(subject.ipKey, subject.userKey))
      await Promise.all(work.map(p => p.catch((err: Error) => log.warn({ err: { message: err.message } }, 'limit bookkeeping after a success failed'))))
    },

    undo (keys, log) {
      refund(failureKeys(keys), log)
    }
  }
}
