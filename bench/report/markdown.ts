// report.md: the figures as tables, readable in a terminal or a pull request (pure).
import { type ClassFigures } from '../measure/figures.js'
import { formatValue } from '../measure/slo.js'
import { type Report } from './report.js'

const pct = (v: number | undefined) => formatValue(v, 'percent')
const ms = (v: number) => formatValue(v, 'ms')

function classRow (c: ClassFigures): string {
  const a = c.attack
  return `| ${c.cls} | ${c.requests} | ${c.rps.toFixed(1)} | ${ms(c.latency.p50)} | ${ms(c.latency.p90)} | ${ms(c.latency.p99)} | ${ms(c.latency.max)} | ${a ? pct(a.passThrough) : '—'} | ${a ? pct(a.blockedRate) : '—'} |`
}

const topCodes = (codes: Record<string, number>, n = 6) => Object.entries(codes).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k} ${v}`).join(', ')

/** Replaces the machine total by what the bench's own processes do not explain (pure). */
export function withOther (cpu: Record<string, number>): Record<string, number> {
  const { machine, ...ours } = cpu
  if (machine === undefined) return ours
  const other = machine - Object.values(ours).reduce((a, b) => a + b, 0)
  return { ...ours, other: Math.max(0, other) }
}

export function renderMarkdown (r: Report): string {
  const lines = [`# Bench: ${r.scenario} — ${r.status.toUpperCase()}`, '', r.summary, '']
  if (r.reason !== undefined) lines.push(`**${r.status === 'skipped' ? 'Skipped' : 'Error'}:** ${r.reason}`, '')
  const model = r.options.model.kind === 'open' ? `open model, ${r.options.model.rate} req/s` : `closed model, ${r.options.model.connections} connections`
  lines.push(`Started ${r.startedAt} on ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}; ${r.options.durationS} s, ${model}; target ${r.options.target}; gateway run as ${r.options.gateway}.`, '', `Command: \`${r.command}\``, '')

  lines.push('## Objectives', '', '| objective | target | measured | result |', '|---|---|---|---|')
  for (const s of r.slos) lines.push(`| ${s.description} | ${s.op} ${formatValue(s.target, s.format)} | ${formatValue(s.actual, s.format)} | ${s.pass ? 'pass' : `**FAIL**${s.note ? ` (${s.note})` : ''}`} |`)
  lines.push('')

  const f = r.figures
  if (f !== undefined) {
    lines.push('## Traffic by class', '', '| class | answers | req/s | p50 | p90 | p99 | max | attack pass-through | attack blocked |', '|---|---|---|---|---|---|---|---|---|')
    for (const c of f.classes) lines.push(classRow(c))
    lines.push('', '| class | answers by code |', '|---|---|')
    for (const c of f.classes) lines.push(`| ${c.cls} | ${topCodes(c.codes, 8)} |`)
    lines.push('')
    if (f.honest !== undefined) {
      const h = f.honest
      lines.push('## Honest users', '',
        `- login flows finished: ${h.flows}, signed in: ${h.succeeded} (**${pct(h.successRate)}**)`,
        `- false positives (turned away by a limit or rule): ${h.falsePositives} (${pct(h.falsePositiveRate)})`,
        `- time to sign in (the flow's answer times summed, OTP included): p50 ${ms(h.signIn.p50)}, p99 ${ms(h.signIn.p99)}`,
        `- failed flows by code: ${topCodes(h.failuresByCode, 8) || 'none'}`, '')
    }
    if (f.attack !== undefined) lines.push(`Attack requests: ${f.attack.attempts}, passed the guard ${pct(f.attack.passThrough)}, blocked ${pct(f.attack.blockedRate)}.`, '')
    lines.push(`5xx other than 503: **${f.serverErrors}**. 429/503 without Retry-After: ${f.missingRetryAfter}${f.missingRetryAfter > 0 ? ` (${topCodes(f.missingRetryAfterByCode)})` : ''}. Unanswered requests: ${JSON.stringify(f.transport)}.`, '')
  }
  if (r.recoveries.length > 0) {
    lines.push('## Faults and recovery', '', '| fault | from | to | honest good before | worst | recovered after |', '|---|---|---|---|---|---|')
    for (const rec of r.recoveries) {
      const w = r.faults.find(x => x.label === rec.label)
      lines.push(`| ${rec.label} | ${((w?.start ?? 0) / 1000).toFixed(1)} s | ${((w?.end ?? 0) / 1000).toFixed(1)} s | ${pct(rec.baseline)} | ${pct(rec.worst)} | ${rec.seconds === null ? '**not within the run**' : `${rec.seconds.toFixed(1)} s`} |`)
    }
    lines.push('')
  }
  if (Object.keys(r.extras).length > 0) {
    lines.push('## Scenario measurements', '', '| measurement | value |', '|---|---|')
    for (const [k, v] of Object.entries(r.extras)) lines.push(`| ${k} | ${typeof v === 'number' ? Number(v.toFixed(4)) : String(v)} |`)
    lines.push('')
  }
  if (r.phases.length > 0) {
    lines.push('## Phases', '', 'CPU is the share of one core each process used; `bench` is the load generator, `other` whatever else ran on the machine (all cores: 200% is a saturated 2-core machine).', '',
      '| phase | target | from | to | load | CPU |', '|---|---|---|---|---|---|')
    for (const p of r.phases) {
      const load = p.loads.map(l => `${l.cls}: ${l.connections} conn${l.rate === undefined ? '' : `, ${l.rate}/s offered`}, ${l.sent} sent`).join('; ')
      const cpu = Object.entries(withOther(p.cpu)).map(([name, share]) => `${name} ${(share * 100).toFixed(0)}%`).join(', ')
      lines.push(`| ${p.name} | ${p.target} | ${(p.start / 1000).toFixed(1)} s | ${(p.end / 1000).toFixed(1)} s | ${load} | ${cpu} |`)
    }
    lines.push('')
  }
  if (r.hotSpots.length > 0) {
    lines.push('## Gateway CPU hot spots (self time, --cpu-prof)', '', '| where | self ms | share of busy |', '|---|---|---|')
    for (const h of r.hotSpots) lines.push(`| \`${h.name}\` | ${h.selfMs.toFixed(0)} | ${pct(h.share)} |`)
    lines.push('')
  }
  if (Object.keys(r.gatewayEnv).length > 0) {
    lines.push('## Gateway configuration', '', 'Settings that differ from the gateway\'s defaults, and why:', '')
    for (const [k, v] of Object.entries(r.overrides)) lines.push(`- \`${k}\`: ${v}`)
    lines.push('')
  }
  return lines.join('\n')
}
