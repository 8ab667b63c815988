// The abuse rules in force, and their hot reload. A new rule set comes from the rules file (watched)
// or the admin API; it is validated first (an invalid one is refused with the rule and field, and
// the rules in force keep serving), then shared through Redis: every replica checks the shared
// version once a second and loads a new one. Without Redis the rules live in this process.
//
// Redis first: a set is put in force here only once Redis holds it, so no replica runs rules the
// others cannot see, and a set refused while Redis is down cannot be undone by the next refresh.
// A file edit Redis refused waits and is shared when Redis answers, unless a newer set was
// shared meanwhile: the newest wins, by when each was written (file mtime, time of the PUT).
import { readFile, stat } from 'node:fs/promises'
import { type Stats, unwatchFile, watchFile } from 'node:fs'
import { type NdjsonSink } from '../infra/ndjson-sink.js'
import { type RedisClient } from '../infra/redis.js'
import { defineScript } from '../infra/redis-script.js'
import { storeUnavailable } from '../infra/store-guard.js'
import { type Logger } from 'pino'
import { type CompiledRules, formatRuleErrors, parseRules as parseRulesFile, type RuleError } from './rules-file.js'
import { rulesVersion } from './rule-engine.js'

export interface RuleSet {
  rules: CompiledRules
  version: string
  source: string
  /** Where it came from: the file, the admin API, or another replica (through Redis). */
  origin: 'file' | 'admin' | 'shared'
  loadedAt: number
}

export type Replaced = { ok: true, version: string } | { ok: false, errors: RuleError[] }

/** A rule set this replica put in force from the file or the admin API. */
export interface RuleChange {
  origin: 'file' | 'admin'
  version: string
  previousVersion: string
  rules: number
  at: number
}

export interface RulesState {
  current: () => RuleSet
  /** Validates, shares through Redis, then puts in force; rejects with `session_store_unavailable` (the rules in force stay) when Redis refuses. */
  replace: (source: string, origin: 'file' | 'admin') => Promise<Replaced>
  /** Loads the shared version if it changed, or shares a set Redis does not hold yet (also done every `pollMs`). */
  refresh: () => Promise<void>
  /** Called for every rule set put in force here from the file or the admin API, not for those loaded from another replica. */
  onChange: (listener: (change: RuleChange) => void) => void
  close: () => void
}

export interface RulesStateOptions {
  redis: RedisClient | null
  keyPrefix: string
  file: string
  /** Every rule runs in shadow mode (demo mode): matches are recorded, nothing is acted on. */
  shadowOnly: boolean
  pollMs: number
  log: Logger
  now: () => number
}

export class RulesFileError extends Error {
  constructor (file: string, errors: RuleError[]) {
    super(`RULES_FILE=${file} is invalid:\n  - ${formatRuleErrors(errors).split('\n').join('\n  - ')}`)
    this.name = 'RulesFileError'
  }
}

// Writes the set unless the shared one was written later (ARGV[4] = '1': in any case). 1 if written.
const SHARE = `
local at = tonumber(redis.call('HGET', KEYS[1], 'updatedAt') or '0') or 0
if ARGV[4] ~= '1' and at > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'source', ARGV[2], 'updatedAt', ARGV[3])
return 1`

interface Candidate {
  next: RuleSet
  /** When its author wrote it: the file's mtime, or the time of the admin call. */
  writtenAt: number
}

/** Writes every rule change made here to the audit log (AUDIT_LOG): who (admin or file), the new and the old version. */
export function auditRuleChanges (rules: RulesState, audit: NdjsonSink): void {
  rules.onChange(c => {
    audit.write({ time: new Date(c.at).toISOString(), action: 'rules_replaced', origin: c.origin, version: c.version, previousVersion: c.previousVersion, rules: c.rules })
  })
}

/** Reads and validates the rules file; at startup an invalid file stops the gateway. */
export async function createRulesState (o: RulesStateOptions): Promise<RulesState> {
  const key = `${o.keyPrefix}rules`
  const parseRules = (text: string) => {
    const parsed = parseRulesFile(text)
    return parsed.ok && o.shadowOnly ? { ...parsed, rules: parsed.rules.map(r => ({ ...r, mode: 'shadow' as const })) } : parsed
  }
  const source = await readFile(o.file, 'utf8')
  const parsed = parseRules(source)
  if (!parsed.ok) throw new RulesFileError(o.file, parsed.errors)
  let set: RuleSet = { rules: parsed.rules, version: rulesVersion(source), source, origin: 'file', loadedAt: o.now() }
  let setWrittenAt = (await stat(o.file)).mtimeMs
  // The set in force is not in Redis yet (Redis was down at startup).
  let unshared = o.redis !== null
  // A file edit Redis refused: not in force, shared once Redis answers if nothing newer was.
  let waiting: Candidate | undefined
  // Bumped by every set put in force here: a refresh that started before one must not undo it.
  let generation = 0
  const listeners: Array<(change: RuleChange) => void> = []
  const shareScript = o.redis === null ? undefined : defineScript(o.redis, 'lgRulesShare', 1, SHARE)

  async function share (c: Candidate, always: boolean): Promise<boolean> {
    if (shareScript === undefined) return true
    return Number(await shareScript([key], [c.next.version, c.next.source, c.writtenAt, always ? '1' : '0'])) === 1
  }

  function putInForce (c: Candidate): void {
    const previousVersion = set.version
    set = c.next
    setWrittenAt = c.writtenAt
    unshared = false
    waiting = undefined
    generation++
    if (c.next.origin === 'shared') return
    const change: RuleChange = { origin: c.next.origin, version: c.next.version, previousVersion, rules: c.next.rules.length, at: o.now() }
    o.log.warn({ origin: change.origin, rulesVersion: change.version, previousVersion, rules: change.rules }, 'abuse rules replaced')
    for (const listener of listeners) listener(change)
  }

  async function replaceWith (text: string, origin: 'file' | 'admin', writtenAt: number): Promise<Replaced> {
    const result = parseRules(text)
    if (!result.ok) {
      o.log.error({ origin, errors: result.errors }, 'abuse rules refused; the rules in force keep serving')
      return { ok: false, errors: result.errors }
    }
    const c = { next: { rules: result.rules, version: rulesVersion(text), source: text, origin, loadedAt: o.now() }, writtenAt }
    let shared: boolean
    try {
      shared = await share(c, origin === 'admin') // the admin's call is the newest word
    } catch (err) {
      if (origin === 'file') waiting = c
      o.log.error({ origin, rulesVersion: c.next.version, err: { message: (err as Error).message } }, 'abuse rules not replaced: redis is unavailable; the rules in force keep serving')
      throw storeUnavailable(err)
    }
    if (shared) putInForce(c)
    else o.log.info({ origin, rulesVersion: c.next.version }, 'abuse rules from the file skipped: a newer set is shared')
    return { ok: true, version: c.next.version }
  }

  async function refresh (): Promise<void> {
    if (o.redis === null) return
    const started = generation
    try {
      const [version = null, updatedAt] = await o.redis.hmget(key, 'version', 'updatedAt')
      const mine = waiting ?? (unshared || version === null ? { next: set, writtenAt: setWrittenAt } : undefined)
      if (mine !== undefined && (version === null || Number(updatedAt) <= mine.writtenAt)) {
        if (version !== mine.next.version && !await share(mine, false)) return
        if (generation !== started) return
        if (mine.next === set) unshared = false
        else putInForce(mine)
        return
      }
      waiting = undefined
      unshared = false
      if (version === null || version === set.version) return
      const [sharedVersion, shared] = await o.redis.hmget(key, 'version', 'source')
      const result = shared == null ? undefined : parseRules(shared)
      if (generation !== started || sharedVersion == null || shared == null || !result?.ok) return
      set = { rules: result.rules, version: sharedVersion, source: shared, origin: 'shared', loadedAt: o.now() }
      setWrittenAt = Number(updatedAt)
      o.log.info({ rulesVersion: sharedVersion }, 'abuse rules loaded from another replica')
    } catch (err) {
      o.log.debug({ err: { message: (err as Error).message } }, 'rules refresh failed; keeping the rules in force')
    }
  }

  const state: RulesState = {
    current: () => set,
    replace: (text, origin) => replaceWith(text, origin, o.now()),
    refresh,
    onChange (listener) { listeners.push(listener) },
    close () {
      clearInterval(timer)
      unwatchFile(o.file, onFileChange)
      listeners.length = 0
    }
  }

  // The newest wins at startup: a file edited after the last shared update is shared; else the shared set.
  await refresh()

  function onFileChange (current: Stats): void {
    readFile(o.file, 'utf8').then(async text => {
      if (rulesVersion(text) === set.version) waiting = undefined // edited back: nothing to share
      else await replaceWith(text, 'file', current.mtimeMs)
    }).catch(() => undefined)
  }
  watchFile(o.file, { interval: o.pollMs }, onFileChange)
  const timer = setInterval(() => { refresh().catch(() => undefined) }, o.pollMs)
  return state
}
