// The abuse rules in force, and their hot reload. A new rule set comes from the rules file (watched)
// or the admin API; it is validated first (an invalid one is refused with the rule and field, and
// the rules in force keep serving), then shared through Redis: every replica checks the shared
// version once a second and loads a new one. Without Redis the rules live in this process.
import { readFile, stat } from 'node:fs/promises'
import { unwatchFile, watchFile } from 'node:fs'
import { type RedisClient } from '../infra/redis.js'
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

export interface RulesState {
  current: () => RuleSet
  replace: (source: string, origin: 'file' | 'admin') => Promise<Replaced>
  /** Loads the shared version if it changed (also done every `pollMs`). */
  refresh: () => Promise<void>
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

  async function share (next: RuleSet): Promise<void> {
    set = next
    await o.redis?.hset(key, { version: next.version, source: next.source, updatedAt: next.loadedAt })
  }

  async function refresh (): Promise<void> {
    if (o.redis === null) return
    try {
      const version = await o.redis.hget(key, 'version')
      if (version === null || version === set.version) return
      const shared = await o.redis.hget(key, 'source')
      const result = shared === null ? undefined : parseRules(shared)
      if (shared === null || result === undefined || !result.ok) return
      set = { rules: result.rules, version, source: shared, origin: 'shared', loadedAt: o.now() }
      o.log.info({ rulesVersion: version }, 'abuse rules loaded from another replica')
    } catch (err) {
      o.log.debug({ err: { message: (err as Error).message } }, 'rules refresh failed; keeping the rules in force')
    }
  }

  const state: RulesState = {
    current: () => set,
    async replace (text, origin) {
      const result = parseRules(text)
      if (!result.ok) {
        o.log.error({ origin, errors: result.errors }, 'abuse rules refused; the rules in force keep serving')
        return { ok: false, errors: result.errors }
      }
      const version = rulesVersion(text)
      await share({ rules: result.rules, version, source: text, origin, loadedAt: o.now() })
      o.log.warn({ origin, rulesVersion: version, rules: result.rules.length }, 'abuse rules replaced')
      return { ok: true, version }
    },
    refresh,
    close () {
      clearInterval(timer)
      unwatchFile(o.file, onFileChange)
    }
  }

  // The newest wins at startup: a file edited after the last shared update is shared; else the shared set.
  const sharedAt = Number(await o.redis?.hget(key, 'updatedAt').catch(() => null) ?? 0)
  const fileAt = (await stat(o.file)).mtimeMs
  if (o.redis !== null && sharedAt > fileAt) await refresh()
  else await share(set).catch(() => undefined)

  function onFileChange (): void {
    readFile(o.file, 'utf8').then(async text => {
      if (rulesVersion(text) !== set.version) await state.replace(text, 'file')
    }).catch(() => undefined)
  }
  watchFile(o.file, { interval: o.pollMs }, onFileChange)
  const timer = setInterval(() => { refresh().catch(() => undefined) }, o.pollMs)
  return state
}
