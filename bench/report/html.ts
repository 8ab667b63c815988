// report.html: one self-contained page (inline CSS and SVG, no script, no CDN) with the charts
// of issue 7: throughput by class, latency, honest success, attack block rate, problem codes,
// breaker and provider states, with the fault windows shaded on every chart (pure).
import { type TrafficClass } from '../measure/classify.js'
import { formatValue } from '../measure/slo.js'
import { renderMarkdown } from './markdown.js'
import { type Report } from './report.js'
import { type Band, escapeXml, lineChart, type Series, stateChart } from './svg.js'

const CLASS_COLORS: Record<TrafficClass, string> = { honest: '#1f77b4', stuffing: '#d62728', 'botnet-stuffing': '#e377c2', 'brute-force': '#ff7f0e', bot: '#9467bd', 'sms-pumping': '#8c564b' }
const PALETTE = ['#d62728', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']

function charts (r: Report): string[] {
  const xMax = Math.max(1, r.timeline.length)
  const bands: Band[] = r.faults.map(f => ({ from: f.start / 1000, to: f.end / 1000, label: f.label }))
  const mid = (s: number) => s + 0.5
  const out: string[] = []
  const classes = (r.figures?.classes ?? []).map(c => c.cls)
  out.push(lineChart({ title: 'Throughput by class', unit: 'answers/s', xMax, bands, series: classes.map(cls => ({ name: cls, color: CLASS_COLORS[cls], points: r.timeline.map(p => [mid(p.s), p.rps[cls] ?? 0] as const) })) }))
  out.push(lineChart({
    title: 'Honest latency',
    unit: 'ms',
    xMax,
    bands,
    series: [
      { name: 'p50', color: '#2ca02c', points: r.timeline.map(p => [mid(p.s), p.honestP50] as const) },
      { name: 'p99', color: '#d62728', points: r.timeline.map(p => [mid(p.s), p.honestP99] as const) }
    ]
  }))
  const rate: Series[] = [{ name: 'honest success', color: '#1f77b4', points: r.timeline.map(p => [mid(p.s), p.honestGood === undefined ? undefined : p.honestGood * 100] as const) }]
  if (r.figures?.attack !== undefined) rate.push({ name: 'attack blocked', color: '#d62728', points: r.timeline.map(p => [mid(p.s), p.attackBlocked === undefined ? undefined : p.attackBlocked * 100] as const) })
  out.push(lineChart({ title: 'Honest success and attack block rate', unit: '%', xMax, bands, yMax: 100, series: rate }))
  const totals = new Map<string, number>()
  for (const p of r.timeline) for (const [code, n] of Object.entries(p.codes)) totals.set(code, (totals.get(code) ?? 0) + n)
  const top = [...totals].sort((a, b) => b[1] - a[1]).slice(0, PALETTE.length).map(([code]) => code)
  if (top.length > 0) {
    out.push(lineChart({ title: 'Problem codes (all classes)', unit: 'answers/s', xMax, bands, series: top.map((code, i) => ({ name: code, color: PALETTE[i] ?? '#999', points: r.timeline.map(p => [mid(p.s), p.codes[code] ?? 0] as const) })) }))
  }
  const names = [...new Set(r.samples.flatMap(s => Object.keys(s.breakers)))].sort()
  if (names.length > 0) {
    out.push(stateChart('Breaker and OTP provider states (gateway /metrics)', xMax, names.map(name => ({ name, states: r.samples.filter(s => s.breakers[name] !== undefined).map(s => [s.t / 1000, s.breakers[name] ?? '?'] as const) })), bands))
  }
  if (r.backend.length > 0) {
    out.push(lineChart({
      title: 'What reached the mock backend',
      unit: 'per second',
      xMax,
      bands,
      series: [
        { name: 'calls', color: '#1f77b4', points: r.backend.map(b => [mid(b.s), b.calls] as const) },
        { name: '5xx injected', color: '#d62728', points: r.backend.map(b => [mid(b.s), b.errors] as const) },
        { name: 'max in flight', color: '#ff7f0e', points: r.backend.map(b => [mid(b.s), b.maxInFlight] as const) }
      ]
    }))
  }
  if (r.samples.length > 0) {
    out.push(lineChart({
      title: 'Gateway process',
      unit: 'MB / ms',
      xMax,
      bands,
      series: [
        { name: 'RSS (MB)', color: '#1f77b4', points: r.samples.map(s => [s.t / 1000, s.rssMb] as const) },
        { name: 'event-loop p99 (ms)', color: '#d62728', points: r.samples.map(s => [s.t / 1000, s.eventLoopP99Ms] as const) }
      ]
    }))
  }
  return out
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}.pass{color:#1e7d3c}.fail{color:#c0392b;font-weight:bold}
svg{width:100%;height:auto;margin:10px 0}.title{font-weight:600;font-size:13px}.axis,.legend{font-size:11px;fill:#444}
.grid{stroke:#e4e4e4}.band{fill:#d64541;opacity:.12}.band-outline{fill:none;stroke:#a33;stroke-width:1.5;stroke-dasharray:4 3}.band-label{font-size:10px;fill:#a33}pre{white-space:pre-wrap;background:#f6f6f6;padding:8px;font-size:12px}`

export function renderHtml (r: Report): string {
  const slos = r.slos.map(s => `<tr><td>${escapeXml(s.description)}</td><td>${escapeXml(`${s.op} ${formatValue(s.target, s.format)}`)}</td><td>${escapeXml(formatValue(s.actual, s.format))}</td><td class="${s.pass ? 'pass' : 'fail'}">${s.pass ? 'pass' : `FAIL${s.note ? ` (${escapeXml(s.note)})` : ''}`}</td></tr>`).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bench ${escapeXml(r.scenario)}</title><style>${STYLE}</style></head>
<body>
<h1>Bench: ${escapeXml(r.scenario)} — <span class="${r.status === 'passed' ? 'pass' : 'fail'}">${r.status.toUpperCase()}</span></h1>
<p>${escapeXml(r.summary)}</p>
${r.reason === undefined ? '' : `<p><b>${escapeXml(r.reason)}</b></p>`}
<h2>Objectives</h2>
<table><tr><th>objective</th><th>target</th><th>measured</th><th>result</th></tr>${slos}</table>
<h2>Over time</h2>
${charts(r).join('\n')}
<h2>All figures</h2>
<pre>${escapeXml(renderMarkdown(r))}</pre>
</body></html>
`
}
