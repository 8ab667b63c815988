import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { toSample } from '../../bench/measure/metrics-sampler.js'
import { breakerStates, parsePromText, sumOf } from '../../bench/measure/prom-text.js'
import { evaluateSlos } from '../../bench/measure/slo.js'
import { buildTimeline } from '../../bench/measure/timeline.js'
import { computeFigures } from '../../bench/measure/figures.js'
import { type ResponseRecord } from '../../bench/measure/recorder.js'
import { withOther } from '../../bench/report/markdown.js'
import { moduleOf, summariseProfile } from '../../bench/report/profile-summary.js'
import { type Report } from '../../bench/report/report.js'
import { escapeXml, lineChart, niceMax } from '../../bench/report/svg.js'
import { resultsDirName, writeReport } from '../../bench/report/write-report.js'
import { cpuMsFromStat, cpuShares, machineBusyMs } from '../../bench/stack/cpu.js'
import { parseRedisStats, topCommands } from '../../bench/stack/redis.js'

const rows: ResponseRecord[] = Array.from({ length: 30 }, (_, i) => ({
  t: i * 100, cls: i % 3 === 0 ? 'stuffing' : 'honest', step: 'login', status: i % 3 === 0 ? 429 : 200, code: i % 3 === 0 ? 'too_many_attempts' : 'authenticated', outcome: i % 3 === 0 ? 'blocked' : 'success', latencyMs: 3 + i, retryAfterS: i % 3 === 0 ? 7 : undefined, phase: 0
}))

function report (): Report {
  const figures = computeFigures(rows, [], 3)
  return {
    scenario: 'credential-stuffing',
    summary: 'A test <run> & "its" report',
    status: 'failed',
    startedAt: '2026-11-22T08:00:00.000Z',
    command: 'npm run bench -- credential-stuffing --duration 3',
    machine: { cpus: 2, cpuModel: 'test cpu', node: 'v20.20.2', platform: 'linux', loadAverage: [0, 0, 0] },
    options: { durationS: 3, model: { kind: 'open', rate: 10 }, remote: false, target: 'http://127.0.0.1:1', gateway: 'node --import tsx src/server.ts' },
    gatewayEnv: { LOG_LEVEL: 'warn', GATEWAY_SECRET: '[redacted]' },
    overrides: { LOG_LEVEL: 'warn: info logs cost CPU' },
    phases: [{ index: 0, name: 'attack', target: 'gateway', start: 0, end: 3000, loads: [{ cls: 'honest', connections: 2, rate: 10, sent: 20, errors: 0, timeouts: 0 }], cpu: { gateway: 0.5, bench: 0.2 } }],
    faults: [{ label: 'backend brownout', start: 1000, end: 2000 }],
    figures,
    recoveries: [{ label: 'backend brownout', baseline: 1, worst: 0.5, seconds: null }],
    extras: { ratio: 0.123456, note: 'text', missing: null },
    slos: evaluateSlos([{ id: 'stuffing_blocked', description: 'stuffing attack requests blocked', op: '>=', target: 0.95, actual: 0.5, format: 'percent' }]),
    timeline: buildTimeline(rows, 3),
    samples: [toSample(500, parsePromText(METRICS)), { ...toSample(1500, parsePromText(METRICS)), breakers: { auth_backend: 'open' } }],
    backend: [{ s: 0, calls: 10, errors: 1, maxInFlight: 2 }],
    otpSinks: {},
    hotSpots: [{ name: 'module: ioredis', selfMs: 12, share: 0.3 }]
  }
}

const METRICS = `# HELP lg_breaker_state state
# TYPE lg_breaker_state gauge
lg_breaker_state{breaker="auth_backend",state="closed"} 1
lg_breaker_state{breaker="auth_backend",state="open"} 0
lg_breaker_state{breaker="otp_sms-primary",state="open"} 1
lg_http_requests_total{route="/auth/login",method="POST",status="200",code=""} 120
lg_http_requests_total{route="/auth/login",method="POST",status="503",code="auth_unavailable"} 7
lg_http_requests_total{route="/auth/login",method="POST",status="500",code="internal_error"} 2
lg_otp_provider_sends_total{provider="sms-primary",outcome="failed"} 3
lg_process_resident_memory_bytes 104857600
lg_nodejs_eventloop_lag_p99_seconds 0.0125
lg_limit_block_cache_hits_total{limit="ip_attempts"} 40
lg_limit_block_cache_hits_total{limit="user_failures_short"} 2
lg_session_grace_copies 99999
weird{label="a \\"quoted\\" value"} +Inf
`

describe('reading what the gateway and Redis report', () => {
  it('parses Prometheus text into samples, breaker states and sums', () => {
    const samples = parsePromText(METRICS)
    expect(breakerStates(samples)).toEqual({ auth_backend: 'closed', 'otp_sms-primary': 'open' })
    expect(sumOf(samples, 'lg_limit_block_cache_hits_total')).toBe(42)
    expect(samples.find(s => s.name === 'weird')).toEqual({ name: 'weird', labels: { label: 'a "quoted" value' }, value: Infinity })
    expect(toSample(1000, samples)).toMatchObject({ t: 1000, rssMb: 100, eventLoopP99Ms: 12.5, http5xx: 2, http503: 7, otpSends: { 'sms-primary:failed': 3 }, blockCacheHits: 42, sessionGraceCopies: 99999 })
  })

  it('reads Redis command and read counts from INFO, leaving INFO itself out', () => {
    const info = '# Stats\r\ntotal_reads_processed:1234\r\n# Commandstats\r\ncmdstat_evalsha:calls=10,usec=1\r\ncmdstat_incr:calls=30,usec=1\r\ncmdstat_info:calls=99,usec=1\r\ncmdstat_client|setname:calls=1,usec=1\r\n'
    const before = parseRedisStats(info)
    expect(before).toEqual({ commands: 41, reads: 1234, byCommand: { evalsha: 10, incr: 30, 'client|setname': 1 } })
    const after = parseRedisStats(info.replace('evalsha:calls=10', 'evalsha:calls=30').replace('incr:calls=30', 'incr:calls=90'))
    expect(topCommands(before, after, 20)).toBe('incr 3.00, evalsha 1.00')
  })

  it('tells how busy the whole machine was, so a run on a shared machine shows it', () => {
    expect(machineBusyMs('cpu  100 0 50 1000 20 0 10 5 0 0\ncpu0 1 2 3 4 5 6 7 8')).toBe(1650)
    expect(machineBusyMs('nonsense')).toBeUndefined()
    expect(withOther({ machine: 1.5, gateway: 0.8, bench: 0.2 })).toEqual({ gateway: 0.8, bench: 0.2, other: 0.5 })
    expect(withOther({ gateway: 0.8 })).toEqual({ gateway: 0.8 })
  })

  it('reads CPU time from /proc/<pid>/stat, even with a process name holding spaces and parentheses', () => {
    const stat = '4242 (node (gate way)) S 1 4242 4242 0 -1 4194304 1000 0 0 0 250 50 0 0 20 0 11 0 100 1000 100 18446744073709551615'
    expect(cpuMsFromStat(stat)).toBe(3000)
    expect(cpuShares({ gateway: 1000, bench: 500 }, { gateway: 1500, bench: 600, late: 10 }, 1000)).toEqual({ gateway: 0.5, bench: 0.1 })
  })

  it('ranks CPU profile hot spots by self time, idle left out, by module and by function', () => {
    const node = (id: number, functionName: string, url: string, hitCount: number) => ({ id, callFrame: { functionName, url, lineNumber: 9 }, hitCount })
    const summary = summariseProfile({
      startTime: 0,
      endTime: 10_000_000, // 10 s in µs over 100 hits: 100 ms a hit
      nodes: [node(1, '(idle)', '', 50), node(2, 'consume', 'file:///app/node_modules/rate-limiter-flexible/lib/x.js', 30), node(3, 'login', 'file:///app/src/login/login-routes.ts', 15), node(4, '(garbage collector)', '', 5)]
    })
    expect(summary.busyMs).toBe(5000)
    expect(summary.modules[0]).toEqual({ name: 'module: rate-limiter-flexible', selfMs: 3000, share: 0.6 })
    expect(summary.functions[1]).toMatchObject({ name: 'login (src/login/login-routes.ts:10)', share: 0.3 })
    expect(moduleOf('node:internal/stream_base_commons')).toBe('node internals')
    expect(moduleOf('file:///tmp/lg-bench-build-x/dist/limits/limit-guard.js')).toBe('dist/limits/limit-guard.js')
  })
})

describe('the report', () => {
  it('is written as report.json, report.md and a self-contained report.html', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bench-report-'))
    onTestFinished(async () => { await rm(root, { recursive: true, force: true }) })
    const dir = join(root, resultsDirName('credential-stuffing', new Date('2026-11-22T08:15:30.123Z')))
    expect(dir.endsWith('credential-stuffing-20261122-081530')).toBe(true)
    const files = await writeReport(dir, report())
    expect(files.map(f => f.slice(dir.length + 1))).toEqual(['report.json', 'report.md', 'report.html'])

    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Report
    expect(json.status).toBe('failed')
    expect(json.figures?.classes.map(c => c.cls)).toEqual(['honest', 'stuffing'])
    expect(json.timeline).toHaveLength(3)

    const md = await readFile(join(dir, 'report.md'), 'utf8')
    expect(md).toMatch(/^# Bench: credential-stuffing — FAILED/)
    expect(md).toContain('| stuffing attack requests blocked | >= 95.00% | 50.00% | **FAIL** |')
    expect(md).toContain('| backend brownout | 1.0 s | 2.0 s | 100% | 50.00% | **not within the run** |')
    expect(md).toContain('gateway 50%, bench 20%')

    const html = await readFile(join(dir, 'report.html'), 'utf8')
    // Opens offline: no scripts, stylesheets, images or fonts from anywhere.
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|src=/i)
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(6)
    for (const title of ['Throughput by class', 'Honest latency', 'Honest success and attack block rate', 'Problem codes', 'Breaker and OTP provider states', 'What reached the mock backend']) {
      expect(html).toContain(title)
    }
    expect(html).toContain('A test &lt;run&gt; &amp; &quot;its&quot; report')
    expect(html).not.toContain('A test <run>')
  })

  it('draws lines with gaps where a second had no data, and picks round axis tops', () => {
    const svg = lineChart({ title: 't', unit: 'u', xMax: 4, series: [{ name: 'a<b', color: '#000', points: [[0, 1], [1, undefined], [2, 3], [3, 4]] }] })
    expect(svg).toMatch(/d="M[^"]* M[^"]*"/) // a second M: the pen lifted over the gap
    expect(svg).toContain('a&lt;b')
    expect(niceMax(0)).toBe(1)
    expect(niceMax(3)).toBe(5)
    expect(niceMax(1234)).toBe(2000)
    expect(escapeXml('"&\'')).toBe('&quot;&amp;&#39;')
  })
})
