// Staged re-admission: after maintenance ends, or the backend's breaker closes after an outage,
// the share of new logins let in ramps up from `startShare` to all of them over `durationMs`,
// and the ones turned away get Retry-After values spread over the rest of the ramp, so the
// returning crowd comes back in waves instead of one spike.

export interface RampSettings {
  /** 0..1 */
  startShare: number
  durationMs: number
}

/** The share of new logins admitted at `now` for a ramp that started at `startedAt`. */
export function admittedShare (startedAt: number | undefined, now: number, s: RampSettings): number {
  if (startedAt === undefined || s.durationMs <= 0) return 1
  const elapsed = now - startedAt
  if (elapsed < 0) return s.startShare
  if (elapsed >= s.durationMs) return 1
  return s.startShare + (1 - s.startShare) * (elapsed / s.durationMs)
}

/** Seconds to wait for a client turned away: uniform over the ramp's remaining time (at least 1 s). */
export function spreadRetryAfter (startedAt: number, now: number, s: RampSettings, random: number): number {
  const remainingS = Math.max(1, (startedAt + s.durationMs - now) / 1000)
  return Math.max(1, Math.ceil(random * remainingS))
}

/** Retry-After for a shed request: around `baseS`, jittered ±50% so retries do not synchronise. */
export function jitteredRetryAfter (baseS: number, random: number): number {
  return Math.max(1, Math.round(baseS * (0.5 + random)))
}
