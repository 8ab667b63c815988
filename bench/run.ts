// `npm run bench -- <scenario|all|list> [options]`: runs scenarios, writes their reports under
// bench/results/, and exits 1 when an objective is missed (2 on an error), so the bench can gate
// a release. SIGINT stops the traffic and every process the bench started, then reports.
import { join } from 'node:path'
import { formatValue } from './measure/slo.js'
import { parseBenchArgs, USAGE } from './cli-args.js'
import { runScenario, type RunSummary } from './runner.js'
import { findScenario, SCENARIOS } from './scenarios/index.js'
import { ROOT } from './stack/processes-node.js'

function printSummary (s: RunSummary): void {
  const failed = s.report.slos.filter(x => !x.pass)
  process.stdout.write(`\n${s.scenario}: ${s.status.toUpperCase()}  ${join(s.dir, 'report.html')}\n`)
  if (s.report.reason !== undefined) process.stdout.write(`  ${s.report.reason.split('\n').join('\n  ')}\n`)
  for (const f of failed) process.stdout.write(`  missed: ${f.description}: ${formatValue(f.actual, f.format)} (target ${f.op} ${formatValue(f.target, f.format)})${f.note === undefined ? '' : `; ${f.note}`}\n`)
}

async function main (): Promise<number> {
  const parsed = parseBenchArgs(process.argv.slice(2))
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n\n${USAGE}\n`)
    return 2
  }
  const { args } = parsed
  if (args.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (args.scenario === 'list') {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(20)} ${s.summary}\n`)
    return 0
  }
  const chosen = args.scenario === 'all' ? SCENARIOS : [findScenario(args.scenario)].filter(s => s !== undefined)
  if (chosen.length === 0) {
    process.stderr.write(`unknown scenario ${args.scenario}: one of ${SCENARIOS.map(s => s.name).join(', ')}, all, list\n`)
    return 2
  }
  const controller = new AbortController()
  const onSigint = () => {
    process.stderr.write('\ninterrupted: stopping the traffic and every process the bench started\n')
    controller.abort()
  }
  process.on('SIGINT', onSigint)
  const summaries: RunSummary[] = []
  try {
    for (const scenario of chosen) {
      if (controller.signal.aborted) break
      const summary = await runScenario(scenario, {
        args,
        resultsRoot: args.out ?? join(ROOT, 'bench', 'results'),
        signal: controller.signal,
        command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
        targetAdminToken: process.env.BENCH_ADMIN_TOKEN,
        log: m => { if (!args.quiet) process.stderr.write(`\n${m}\n`) }
      })
      summaries.push(summary)
      printSummary(summary)
    }
  } finally {
    process.off('SIGINT', onSigint)
  }
  if (controller.signal.aborted || summaries.some(s => s.status === 'error')) return 2
  return summaries.some(s => s.status === 'failed') ? 1 : 0
}

process.exitCode = await main()
