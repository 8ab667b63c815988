// Times as small integers, for the values of large in-process maps: V8 keeps a small integer
// inside the map's table, where a millisecond timestamp (beyond 2^30) is a heap number of its own.
// Ticks count from a day before the clock was made, so they are positive even for a test clock
// set back, and stay small integers for 2^30 ticks (124 days of uptime at 10 ms, 34 years at 1 s).

const DAY_MS = 86_400_000

export interface SmallTicks {
  /** The tick `at` falls in. */
  floor: (at: number) => number
  /** The first tick that begins at or after `at`. */
  ceil: (at: number) => number
  /** When `tick` begins, in milliseconds. */
  start: (tick: number) => number
}

export function smallTicks (now: () => number, tickMs: number): SmallTicks {
  const base = now() - DAY_MS
  return {
    floor: at => Math.floor((at - base) / tickMs),
    ceil: at => Math.ceil((at - base) / tickMs),
    start: tick => base + tick * tickMs
  }
}
