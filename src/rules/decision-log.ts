// The decision log: one NDJSON line per login decision (features, rule matches, the verdict and
// the eventual outcome) to a file, rotated by size, or to stdout; the recent ones also in
// memory for the admin API. Usernames appear masked and as keyed hashes; never a password.
import { createNdjsonSink } from '../infra/ndjson-sink.js'
import { type RequestFeatures, type RulesVerdict } from './features.js'

export interface DecisionRecord {
  requestId: string
  /** The canary draw's seed (server-made, unlike the request id), when a canary rule matched. */
  drawId?: string
  /** Refused before the counters were read: `features.velocity` holds only what was known then. */
  early?: boolean
  /** Refused from the headers alone: no user, and the honeypot and device were not known. */
  beforeBody?: boolean
  /** Signals an early refusal was decided without: their values in `features` mean nothing. */
  unknown?: readonly string[]
  time: string
  /** e.g. "a***e": enough for support staff to recognise, not to name. */
  user: string
  features: RequestFeatures
  verdict: RulesVerdict
  /** The limit that refused the attempt, if one did. */
  limit?: string
  challengeSolved: boolean
  /** The login's eventual result: authenticated, otp_required, or a problem code. */
  outcome: string
}

export interface DecisionFilter {
  verdict?: string
  rule?: string
  ip?: string
  user?: string
}

export interface DecisionLog {
  /**
   * Whether a decision made now would be kept or written: at thousands of logins a second, with
   * no sink and this second's share of the ring taken, building the record is all waste.
   */
  wanted: () => boolean
  record: (decision: DecisionRecord) => void
  /** Newest first. */
  recent: (limit: number, filter?: DecisionFilter) => DecisionRecord[]
  close: () => Promise<void>
}

export interface DecisionLogOptions {
  /** 'off', 'stdout', or a file path. */
  target: string
  maxBytes: number
  keepInMemory: number
  /** At most this many decisions of each second go to memory (the sink still gets them all). */
  keepPerSecond: number
  now: () => number
}

export function createDecisionLog (o: DecisionLogOptions): DecisionLog {
  // A circular buffer. An attack's refusals come thousands a second: all kept, they would turn
  // the ring over in a fraction of a second, and each record still in it at a scavenge costs the
  // garbage collector a copy (a fifth of a refusal's cost, measured). So each second keeps its
  // first keepPerSecond decisions: every one at ordinary rates, and the last minutes of an attack
  // rather than its last tenth of a second.
  const ring: DecisionRecord[] = []
  let next = 0
  let second = -1
  let keptThisSecond = 0
  const sink = createNdjsonSink(o.target, o.maxBytes)
  const ringTakes = (now: number) => o.keepInMemory > 0 && (now !== second || keptThisSecond < o.keepPerSecond)
  return {
    wanted: () => sink.enabled || ringTakes(Math.floor(o.now() / 1000)),
    record (decision) {
      const now = Math.floor(o.now() / 1000)
      if (ringTakes(now)) {
        if (now !== second) {
          second = now
          keptThisSecond = 0
        }
        keptThisSecond++
        ring[next] = decision
        next = (next + 1) % o.keepInMemory
      }
      sink.write(decision)
    },
    recent (limit, filter = {}) {
      const newestFirst = [...ring.slice(0, next).reverse(), ...ring.slice(next).reverse()]
      return newestFirst.filter(d => matches(d, filter)).slice(0, limit)
    },
    close: () => sink.close()
  }
}

function matches (d: DecisionRecord, f: DecisionFilter): boolean {
  return (f.verdict === undefined || d.verdict.action === f.verdict || d.outcome === f.verdict) &&
    (f.rule === undefined || d.verdict.enforced.includes(f.rule) || d.verdict.shadowed.includes(f.rule)) &&
    (f.ip === undefined || d.features.ip === f.ip || d.features.ipKey === f.ip) &&
    (f.user === undefined || d.user === f.user || d.features.userKey === f.user)
}
