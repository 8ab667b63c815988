// A retry budget (Finagle, Envoy): each call deposits `ratio` of a retry, each retry spends one,
// and the balance is capped. Retries can then never multiply the load on a struggling
// dependency: at most `ratio` more calls than the traffic itself, plus a small burst allowance.

export interface RetryBudget {
  /** Counts a first attempt. */
  deposit: () => void
  /** True (and spends one) if a retry is affordable now. */
  tryWithdraw: () => boolean
}

export function createRetryBudget (ratio: number, maxBalance = 10): RetryBudget {
  let balance = 0
  return {
    deposit () { balance = Math.min(maxBalance, balance + ratio) },
    tryWithdraw () {
      if (ratio <= 0 || balance < 1) return false
      balance -= 1
      return true
    }
  }
}
