// Logins and failed logins across everything this replica saw in the last minute, in process:
// a credential-stuffing wave spread over a botnet hides from every per-address counter, but not
// from the share of all logins that fail. Attempts another defence answered (a limit, a rule on
// the address) are taken out again, so a handled attack from a few addresses does not make
// everyone solve puzzles; attempts refused only by a rule on these signals stay in, else the
// refusals would hide the wave they refuse. No Redis: each replica behind a load balancer sees a
// fair sample of the traffic, and the signal must cost nothing on the hot path.
import { dropOldest } from '../infra/oldest-first.js'
import { smallTicks } from '../infra/small-ticks.js'

export interface GlobalFailures {
  /** Counts an attempt as a failure until told otherwise; returns the window after it. */
  attempt: () => { attempts: number, failureRatio: number }
  /** The window as it stands, counting nothing. */
  read: () => { attempts: number, failureRatio: number }
  /** The attempt was no failure after all. */
  notFailure: () => void
  /** The attempt is out of the window altogether: another defence already answered it. */
  forget: () => void
  /**
   * Whether a refusal by a rule on these signals may stay in the window: a few per address and
   * window, so that one client sending unsolved requests cannot hold the wave's rule on alone.
   */
  keepRefusal: (ipKey: string) => boolean
}

const MAX_KEPT_REFUSALS_PER_ADDRESS = 3

const BUCKETS = 12

export function createGlobalFailures (windowMs: number, now: () => number, maxAddresses = 100_000): GlobalFailures {
  const bucketMs = windowMs / BUCKETS
  const attempts = new Array<number>(BUCKETS).fill(0)
  const failures = new Array<number>(BUCKETS).fill(0)
  let head = Math.floor(now() / bucketMs)

  // Moves the window to now, zeroing the buckets that fell out of it.
  function advance (): number {
    const current = Math.floor(now() / bucketMs)
    for (let b = Math.max(head + 1, current - BUCKETS + 1); b <= current; b++) {
      attempts[b % BUCKETS] = 0
      failures[b % BUCKETS] = 0
    }
    head = Math.max(head, current)
    return head % BUCKETS
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

  // Takes one from the newest bucket that has one: the attempt may sit in an older one.
  function takeNewest (counts: number[]): void {
    const i = advance()
    for (let k = 0; k < BUCKETS; k++) {
      const j = (i - k + BUCKETS) % BUCKETS
      if ((counts[j] ?? 0) > 0) {
        counts[j] = (counts[j] ?? 0) - 1
        return
      }
    }
  }

  const read = () => {
    advance()
    const total = sum(attempts)
    return { attempts: total, failureRatio: total === 0 ? 0 : sum(failures) / total }
  }

  // Per address, one small integer: the second its window began times COUNTS, plus the refusals
  // kept in it. Up to maxAddresses entries during an address flood, where an object and its
  // timestamp took about 125 B an address and this takes 65.
  const seconds = smallTicks(now, 1000)
  const kept = new Map<string, number>()
  const COUNTS = MAX_KEPT_REFUSALS_PER_ADDRESS + 2

  return {
    read,
    keepRefusal (ipKey) {
      const second = seconds.floor(now())
      const entry = kept.get(ipKey)
      if (entry !== undefined && (second - Math.floor(entry / COUNTS)) * 1000 < windowMs) {
        const count = Math.min(entry % COUNTS + 1, COUNTS - 1)
        kept.set(ipKey, entry - entry % COUNTS + count)
        return count <= MAX_KEPT_REFUSALS_PER_ADDRESS
      }
      kept.delete(ipKey) // re-insert at the young end; past maxAddresses the oldest go first
      kept.set(ipKey, second * COUNTS + 1)
      dropOldest(kept, maxAddresses)
      return true
    },
    attempt () {
      const i = advance()
      attempts[i] = (attempts[i] ?? 0) + 1
      failures[i] = (failures[i] ?? 0) + 1
      return read()
    },
    notFailure: () => { takeNewest(failures) },
    forget () {
      takeNewest(attempts)
      takeNewest(failures)
    }
  }
}
