// npm run rules:replay -- --log <decisions.ndjson> --rules <candidate.yaml> [--json]
// Replays a decision log under candidate rules and prints, per rule, what it would have done and
// how often it would have stopped someone who then logged in, and the decisions that change.
// Exit codes: 0 done, 1 usage or unreadable file, 2 invalid rules file.
import { createReadStream, realpathSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createReplay, parseDecisionLine, type ReplayReport } from './replay.js'
import { rulesVersion } from './rule-engine.js'
import { formatRuleErrors, parseRules } from './rules-file.js'

export interface Output {
  out: (text: string) => void
  err: (text: string) => void
}

const USAGE = 'usage: npm run rules:replay -- --log <decisions.ndjson> --rules <candidate.yaml> [--json]'
const SHOWN_CHANGES = 20
const SHOWN_BAD_LINES = 5

/** Runs the command; returns the exit code. */
export async function replayCommand (args: string[], io: Output): Promise<number> {
  let options: { log?: string, rules?: string, json?: boolean }
  try {
    options = parseArgs({ args, options: { log: { type: 'string' }, rules: { type: 'string' }, json: { type: 'boolean' } } }).values
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`)
    return 1
  }
  if (options.log === undefined || options.rules === undefined) {
    io.err(USAGE)
    return 1
  }
  let source: string
  try {
    source = await readFile(options.rules, 'utf8')
  } catch (err) {
    io.err(`cannot read the rules file: ${(err as Error).message}`)
    return 1
  }
  const parsed = parseRules(source)
  if (!parsed.ok) {
    io.err(`${options.rules} is invalid:\n${formatRuleErrors(parsed.errors)}`)
    return 2
  }
  const run = createReplay(parsed.rules)
  const bad: number[] = []
  let badCount = 0
  try {
    let lineNo = 0
    for await (const line of createInterface({ input: createReadStream(options.log), crlfDelay: Infinity })) {
      lineNo++
      if (line.trim() === '') continue
      const record = parseDecisionLine(line)
      if (record !== undefined) run.add(record)
      else if (++badCount <= SHOWN_BAD_LINES) bad.push(lineNo)
    }
  } catch (err) {
    io.err(`cannot read the decision log: ${(err as Error).message}`)
    return 1
  }
  const report = run.report()
  const skipped = { count: badCount, firstLines: bad }
  if (options.json === true) io.out(JSON.stringify({ rulesVersion: rulesVersion(source), skipped, ...report }, null, 2))
  else io.out(renderReport(report, { log: options.log, rules: options.rules, version: rulesVersion(source), skipped }))
  return 0
}

interface Context {
  log: string
  rules: string
  version: string
  skipped: { count: number, firstLines: number[] }
}

function renderReport (report: ReplayReport, ctx: Context): string {
  const lines = [`replayed ${report.decisions} decisions from ${ctx.log} under ${ctx.rules} (version ${ctx.version})`]
  if (ctx.skipped.count > 0) lines.push(`skipped ${ctx.skipped.count} unparseable lines (first: ${ctx.skipped.firstLines.join(', ')})`)
  if (report.undecided > 0) lines.push(`${report.undecided} early refusals depend on signals not known then: kept as recorded`)
  lines.push('', ...table([
    ['rule', 'mode', 'action', 'matches', 'block', 'challenge', 'step-up', 'shadow', 'likely FP', 'shadow FP'],
    ...report.rules.map(r => [r.id, r.mode, r.action, r.matches, r.wouldBlock, r.wouldChallenge, r.wouldStepUp, r.shadowMatches, r.likelyFalsePositives, r.shadowFalsePositives].map(String))
  ]))
  lines.push('', 'likely FP: would block, challenge or step up a request that went on to log in (authenticated or otp_required)')
  const { before, after } = report.actions
  const moved = (Object.keys(before) as Array<keyof typeof before>).map(a => `${a} ${before[a]} → ${after[a]}`)
  lines.push(`actions as recorded → as replayed: ${moved.join(', ')}`, '')
  const shown = report.changed.slice(0, SHOWN_CHANGES)
  lines.push(`${report.changed.length} decisions change${report.changed.length > SHOWN_CHANGES ? ` (the first ${SHOWN_CHANGES}):` : report.changed.length > 0 ? ':' : ''}`)
  if (shown.length > 0) {
    lines.push(...table([
      ['request', 'time', 'before', 'after', 'outcome'],
      ...shown.map(c => [c.requestId, c.time, label(c.before), label(c.after), c.outcome])
    ]).map(l => `  ${l}`))
  }
  return lines.join('\n')
}

function label (d: { action: string, ruleId?: string }): string {
  return d.ruleId === undefined ? d.action : `${d.action} (${d.ruleId})`
}

// Left-aligned text columns, right-aligned numbers.
function table (rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map(r => (r[i] ?? '').length))) ?? []
  return rows.map(r => r.map((cell, i) => /^\d+$/.test(cell) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd())
}

// Run as a program (not imported by a test): the one place that touches argv, stdout and the exit code.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await replayCommand(process.argv.slice(2), {
    out: text => { process.stdout.write(`${text}\n`) },
    err: text => { process.stderr.write(`${text}\n`) }
  })
}
